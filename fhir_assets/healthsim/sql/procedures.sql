-- Canonical procedures (SNOMED CT codes); key derived like conditions.
-- A row whose patient or encounter is not loaded (absent or rejected) is quarantined.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file, source_row,
        lower(trim(PATIENT)) AS patient_id,
        nullif(lower(trim(ENCOUNTER)), '') AS encounter_id,
        nullif(trim(CODE), '') AS code,
        nullif(trim(DESCRIPTION), '') AS description,
        {{ timestamp(START) }} AS start_at,
        {{ timestamp(STOP) }} AS stop_at,
        {{ number(BASE_COST, DECIMAL(18, 2)) }} AS base_cost,
        nullif(trim(REASONCODE), '') AS reason_code,
        START AS start_raw,
        STOP AS stop_raw,
        {{ timestamp_issue(STOP) }} AS stop_issue,
        {{ field_issues(BASE_COST number) }} AS field_issues
    FROM landing_procedures
),
keyed AS (
    SELECT
        *,
        md5(concat_ws('|', patient_id, encounter_id, code, start_raw,
            CAST(row_number() OVER (PARTITION BY patient_id, encounter_id, code, start_raw ORDER BY source_file, stop_at, base_cost) AS VARCHAR))) AS h
    FROM src
)
SELECT
    {{ uuid_shape(h) }} AS procedure_id,
    source, patient_id, encounter_id, code, description, start_at, stop_at, base_cost,
    reason_code, source_file, source_row, field_issues,
    CASE
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENT is empty'
        WHEN kp.known_patient IS NULL THEN 'PATIENT is not a loaded patient (missing or rejected): ' || patient_id
        WHEN encounter_id IS NULL THEN 'ENCOUNTER is empty'
        WHEN ke.known_encounter IS NULL THEN 'ENCOUNTER is not a loaded encounter (missing or rejected): ' || encounter_id
        WHEN code IS NULL THEN 'CODE is empty'
        WHEN start_at IS NULL THEN 'START is not a timestamp: ' || coalesce(start_raw, '(empty)')
        WHEN stop_issue IS NOT NULL THEN 'STOP ' || stop_issue || ': ' || stop_raw
    END AS reject_reason
FROM keyed
LEFT JOIN (SELECT patient_id AS known_patient FROM healthsim.patients) AS kp ON kp.known_patient = keyed.patient_id
LEFT JOIN (SELECT encounter_id AS known_encounter FROM healthsim.encounters) AS ke ON ke.known_encounter = keyed.encounter_id
