-- Canonical encounters; classes as in Synthea (wellness, ambulatory, outpatient, emergency,
-- inpatient, urgentcare, plus home/hospice/snf/virtual in newer exports). An encounter whose
-- patient is not in healthsim.patients (absent or rejected) is quarantined.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(Id)) AS encounter_id,
        *
    FROM landing_encounters
),
typed AS (
    SELECT
        encounter_id,
        source,
        lower(trim(PATIENT)) AS patient_id,
        nullif(lower(trim(ORGANIZATION)), '') AS organization_id,
        nullif(lower(trim(PROVIDER)), '') AS provider_id,
        nullif(lower(trim(PAYER)), '') AS payer_id,
        lower(trim(ENCOUNTERCLASS)) AS encounter_class,
        {{ timestamp(START) }} AS start_at,
        {{ timestamp(STOP) }} AS stop_at,
        nullif(trim(CODE), '') AS code,
        nullif(trim(DESCRIPTION), '') AS description,
        {{ number(BASE_ENCOUNTER_COST, DECIMAL(18, 2)) }} AS base_cost,
        coalesce({{ number(TOTAL_CLAIM_COST, DECIMAL(18, 2)) }}, 0) AS total_claim_cost,
        coalesce({{ number(PAYER_COVERAGE, DECIMAL(18, 2)) }}, 0) AS payer_coverage,
        nullif(trim(REASONCODE), '') AS reason_code,
        nullif(trim(REASONDESCRIPTION), '') AS reason_description,
        source_file, source_row,
        START AS start_raw,
        STOP AS stop_raw,
        {{ timestamp_issue(STOP) }} AS stop_issue,
        {{ field_issues(BASE_ENCOUNTER_COST number, TOTAL_CLAIM_COST number, PAYER_COVERAGE number) }} AS field_issues,
        row_number() OVER (PARTITION BY encounter_id ORDER BY source_file) AS copy_number
    FROM src
)
SELECT
    * EXCLUDE (start_raw, stop_raw, stop_issue, copy_number, known_patient),
    CASE
        WHEN encounter_id IS NULL OR NOT regexp_matches(encounter_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate encounter Id'
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENT is empty'
        WHEN known_patient IS NULL THEN 'PATIENT is not a loaded patient (missing or rejected): ' || patient_id
        WHEN start_at IS NULL THEN 'START is not a timestamp: ' || coalesce(start_raw, '(empty)')
        WHEN stop_issue IS NOT NULL THEN 'STOP ' || stop_issue || ': ' || stop_raw
        WHEN encounter_class NOT IN ('wellness', 'ambulatory', 'outpatient', 'emergency', 'inpatient',
            'urgentcare', 'home', 'hospice', 'snf', 'virtual')
            THEN 'unknown ENCOUNTERCLASS: ' || coalesce(encounter_class, '(empty)')
    END AS reject_reason
FROM typed
LEFT JOIN (SELECT patient_id AS known_patient FROM healthsim.patients) AS kp ON kp.known_patient = typed.patient_id
