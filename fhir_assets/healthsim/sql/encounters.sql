-- Canonical encounters; classes as in Synthea (wellness, ambulatory, outpatient, emergency,
-- inpatient, urgentcare, plus home/hospice/snf/virtual in newer exports).
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
        try_cast(START AS TIMESTAMP) AS start_at,
        try_cast(STOP AS TIMESTAMP) AS stop_at,
        nullif(trim(CODE), '') AS code,
        nullif(trim(DESCRIPTION), '') AS description,
        try_cast(BASE_ENCOUNTER_COST AS DECIMAL(18, 2)) AS base_cost,
        coalesce(try_cast(TOTAL_CLAIM_COST AS DECIMAL(18, 2)), 0) AS total_claim_cost,
        coalesce(try_cast(PAYER_COVERAGE AS DECIMAL(18, 2)), 0) AS payer_coverage,
        nullif(trim(REASONCODE), '') AS reason_code,
        nullif(trim(REASONDESCRIPTION), '') AS reason_description,
        source_file,
        START AS start_raw,
        row_number() OVER (PARTITION BY encounter_id ORDER BY source_file) AS copy_number
    FROM src
)
SELECT
    * EXCLUDE (start_raw, copy_number),
    CASE
        WHEN encounter_id IS NULL OR NOT regexp_matches(encounter_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate encounter Id'
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENT is empty'
        WHEN start_at IS NULL THEN 'START is not a timestamp: ' || coalesce(start_raw, '(empty)')
        WHEN encounter_class NOT IN ('wellness', 'ambulatory', 'outpatient', 'emergency', 'inpatient',
            'urgentcare', 'home', 'hospice', 'snf', 'virtual')
            THEN 'unknown ENCOUNTERCLASS: ' || coalesce(encounter_class, '(empty)')
    END AS reject_reason
FROM typed
