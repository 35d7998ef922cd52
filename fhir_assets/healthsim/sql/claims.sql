-- Canonical claims. Synthea v3's claims.csv carries no charge columns (they live in
-- claims_transactions.csv, which the sample does not include), so a claim's amount is its
-- encounter's TOTAL_CLAIM_COST split evenly, to the cent, across the encounter's claims
-- (the remainder cents go to the first claims by Id): amounts reconcile exactly to the
-- encounter costs. Outstanding = OUTSTANDING1 + OUTSTANDING2 + OUTSTANDINGP; paid = amount - outstanding.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(Id)) AS claim_id,
        *
    FROM landing_claims
),
typed AS (
    SELECT
        s.claim_id,
        s.source,
        lower(trim(s.PATIENTID)) AS patient_id,
        nullif(lower(trim(s.APPOINTMENTID)), '') AS encounter_id,
        nullif(lower(trim(s.PROVIDERID)), '') AS provider_id,
        nullif(nullif(lower(trim(s.PRIMARYPATIENTINSURANCEID)), ''), '0') AS payer_id,
        {{ timestamp(s.SERVICEDATE) }} AS service_at,
        upper(coalesce(nullif(trim(s.STATUSP), ''), nullif(trim(s.STATUS1), ''))) AS status,
        {{ number(s.HEALTHCARECLAIMTYPEID1, INTEGER) }} AS claim_type_id,
        nullif(trim(s.DIAGNOSIS1), '') AS primary_diagnosis_code,
        concat_ws(',', nullif(trim(s.DIAGNOSIS1), ''), nullif(trim(s.DIAGNOSIS2), ''),
            nullif(trim(s.DIAGNOSIS3), ''), nullif(trim(s.DIAGNOSIS4), ''),
            nullif(trim(s.DIAGNOSIS5), ''), nullif(trim(s.DIAGNOSIS6), ''),
            nullif(trim(s.DIAGNOSIS7), ''), nullif(trim(s.DIAGNOSIS8), '')) AS diagnosis_codes,
        CAST(coalesce({{ number(s.OUTSTANDING1, DECIMAL(18, 2)) }}, 0)
            + coalesce({{ number(s.OUTSTANDING2, DECIMAL(18, 2)) }}, 0)
            + coalesce({{ number(s.OUTSTANDINGP, DECIMAL(18, 2)) }}, 0) AS DECIMAL(18, 2)) AS outstanding_amount,
        CAST(round(e.total_claim_cost * 100) AS BIGINT) AS encounter_cents,
        e.encounter_id AS known_encounter,
        s.source_file, s.source_row,
        s.SERVICEDATE AS service_raw,
        {{ field_issues(s.OUTSTANDING1 number, s.OUTSTANDING2 number, s.OUTSTANDINGP number) }} AS field_issues,
        kp.known_patient,
        row_number() OVER (PARTITION BY s.claim_id ORDER BY s.source_file) AS copy_number
    FROM src AS s
    LEFT JOIN healthsim.encounters AS e ON e.encounter_id = lower(trim(s.APPOINTMENTID))
    LEFT JOIN (SELECT patient_id AS known_patient FROM healthsim.patients) AS kp
        ON kp.known_patient = lower(trim(s.PATIENTID))
),
split AS (
    SELECT
        *,
        count(*) OVER (PARTITION BY encounter_id, copy_number) AS claims_in_encounter,
        row_number() OVER (PARTITION BY encounter_id, copy_number ORDER BY claim_id) AS claim_rank
    FROM typed
),
amounts AS (
    SELECT
        *,
        CAST((floor(encounter_cents / claims_in_encounter)
            + CASE WHEN claim_rank <= encounter_cents - claims_in_encounter * floor(encounter_cents / claims_in_encounter) THEN 1 ELSE 0 END)
            / 100.0 AS DECIMAL(18, 2)) AS claim_amount
    FROM split
)
SELECT
    claim_id, source, patient_id, encounter_id, provider_id, payer_id, service_at, status,
    claim_type_id, primary_diagnosis_code, diagnosis_codes,
    claim_amount,
    CAST(claim_amount - outstanding_amount AS DECIMAL(18, 2)) AS paid_amount,
    outstanding_amount,
    source_file, source_row,
    field_issues,
    CASE
        WHEN claim_id IS NULL OR NOT regexp_matches(claim_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate claim Id'
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENTID is empty'
        WHEN known_patient IS NULL THEN 'PATIENTID is not a loaded patient (missing or rejected): ' || patient_id
        WHEN known_encounter IS NULL THEN 'APPOINTMENTID is not a loaded encounter: ' || coalesce(encounter_id, '(empty)')
        WHEN service_at IS NULL THEN 'SERVICEDATE is not a timestamp: ' || coalesce(service_raw, '(empty)')
    END AS reject_reason
FROM amounts
