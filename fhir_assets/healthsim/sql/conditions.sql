-- Canonical conditions (SNOMED CT diagnoses). Synthea gives conditions no Id: the key is a
-- UUID-shaped md5 of patient, encounter, code, onset and the copy number among identical rows.
-- A row whose patient or encounter is not loaded (absent or rejected) is quarantined.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file, source_row,
        lower(trim(PATIENT)) AS patient_id,
        nullif(lower(trim(ENCOUNTER)), '') AS encounter_id,
        nullif(trim(CODE), '') AS code,
        nullif(trim(DESCRIPTION), '') AS description,
        {{ date(START) }} AS onset_date,
        {{ date(STOP) }} AS resolved_date,
        START AS start_raw,
        STOP AS stop_raw,
        {{ date_issue(STOP) }} AS stop_issue,
        CAST(NULL AS VARCHAR) AS field_issues
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
    {{ uuid_shape(h) }} AS condition_id,
    source,
    patient_id,
    encounter_id,
    code,
    description,
    onset_date,
    resolved_date,
    source_file, source_row, field_issues,
    CASE
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENT is empty'
        WHEN kp.known_patient IS NULL THEN 'PATIENT is not a loaded patient (missing or rejected): ' || patient_id
        WHEN encounter_id IS NULL THEN 'ENCOUNTER is empty'
        WHEN ke.known_encounter IS NULL THEN 'ENCOUNTER is not a loaded encounter (missing or rejected): ' || encounter_id
        WHEN code IS NULL THEN 'CODE is empty'
        WHEN onset_date IS NULL THEN 'START is not a date: ' || coalesce(start_raw, '(empty)')
        WHEN stop_issue IS NOT NULL THEN 'STOP ' || stop_issue || ': ' || stop_raw
    END AS reject_reason
FROM keyed
LEFT JOIN (SELECT patient_id AS known_patient FROM healthsim.patients) AS kp ON kp.known_patient = keyed.patient_id
LEFT JOIN (SELECT encounter_id AS known_encounter FROM healthsim.encounters) AS ke ON ke.known_encounter = keyed.encounter_id
