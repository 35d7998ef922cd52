-- Canonical medication orders (RxNorm codes); key derived like conditions.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(PATIENT)) AS patient_id,
        nullif(lower(trim(ENCOUNTER)), '') AS encounter_id,
        nullif(lower(trim(PAYER)), '') AS payer_id,
        nullif(trim(CODE), '') AS code,
        nullif(trim(DESCRIPTION), '') AS description,
        try_cast(START AS TIMESTAMP) AS start_at,
        try_cast(STOP AS TIMESTAMP) AS stop_at,
        try_cast(BASE_COST AS DECIMAL(18, 2)) AS base_cost,
        try_cast(PAYER_COVERAGE AS DECIMAL(18, 2)) AS payer_coverage,
        try_cast(DISPENSES AS INTEGER) AS dispenses,
        try_cast(TOTALCOST AS DECIMAL(18, 2)) AS total_cost,
        nullif(trim(REASONCODE), '') AS reason_code,
        START AS start_raw
    FROM landing_medications
),
keyed AS (
    SELECT
        *,
        md5(concat_ws('|', patient_id, encounter_id, code, start_raw,
            CAST(row_number() OVER (PARTITION BY patient_id, encounter_id, code, start_raw ORDER BY source_file, stop_at, total_cost) AS VARCHAR))) AS h
    FROM src
)
SELECT
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12) AS medication_id,
    source, patient_id, encounter_id, payer_id, code, description, start_at, stop_at,
    base_cost, payer_coverage, dispenses, total_cost, reason_code, source_file,
    CASE
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENT is empty'
        WHEN code IS NULL THEN 'CODE is empty'
        WHEN start_at IS NULL THEN 'START is not a timestamp: ' || coalesce(start_raw, '(empty)')
    END AS reject_reason
FROM keyed
