-- Canonical conditions (SNOMED CT diagnoses). Synthea gives conditions no Id: the key is a
-- UUID-shaped md5 of patient, encounter, code, onset and the copy number among identical rows.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(PATIENT)) AS patient_id,
        nullif(lower(trim(ENCOUNTER)), '') AS encounter_id,
        nullif(trim(CODE), '') AS code,
        nullif(trim(DESCRIPTION), '') AS description,
        try_cast(START AS DATE) AS onset_date,
        try_cast(STOP AS DATE) AS resolved_date,
        START AS start_raw
    FROM landing_conditions
),
keyed AS (
    SELECT
        *,
        md5(concat_ws('|', patient_id, encounter_id, code, start_raw,
            CAST(row_number() OVER (PARTITION BY patient_id, encounter_id, code, start_raw ORDER BY source_file, resolved_date) AS VARCHAR))) AS h
    FROM src
)
SELECT
    substr(h, 1, 8) || '-' || substr(h, 9, 4) || '-' || substr(h, 13, 4) || '-' || substr(h, 17, 4) || '-' || substr(h, 21, 12) AS condition_id,
    source,
    patient_id,
    encounter_id,
    code,
    description,
    onset_date,
    resolved_date,
    source_file,
    CASE
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENT is empty'
        WHEN code IS NULL THEN 'CODE is empty'
        WHEN onset_date IS NULL THEN 'START is not a date: ' || coalesce(start_raw, '(empty)')
    END AS reject_reason
FROM keyed
