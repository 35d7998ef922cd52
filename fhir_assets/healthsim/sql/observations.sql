-- Canonical observations (LOINC): vital signs, laboratory results and survey answers, with
-- a numeric value and its UCUM unit or a text value. Synthea gives observations no Id: the
-- key is a UUID-shaped md5 of patient, encounter, code, date, value and the copy number
-- among identical rows. Summary observations (QALY, DALY) have no encounter; a row whose
-- patient, or named encounter, is not loaded is quarantined.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file, source_row,
        lower(trim(PATIENT)) AS patient_id,
        nullif(lower(trim(ENCOUNTER)), '') AS encounter_id,
        nullif(lower(trim(CATEGORY)), '') AS category,
        nullif(trim(CODE), '') AS code,
        nullif(trim(DESCRIPTION), '') AS description,
        nullif(trim(VALUE), '') AS value_text,
        nullif(trim(UNITS), '') AS units,
        coalesce(nullif(lower(trim(TYPE)), ''), 'text') AS value_type,
        {{ timestamp(DATE) }} AS observed_at,
        DATE AS date_raw
    FROM landing_observations
),
keyed AS (
    SELECT
        *,
        CASE WHEN value_type = 'numeric' THEN {{ number(value_text) }} END AS value_numeric,
        md5(concat_ws('|', patient_id, encounter_id, code, date_raw, value_text,
            CAST(row_number() OVER (PARTITION BY patient_id, encounter_id, code, date_raw, value_text ORDER BY source_file) AS VARCHAR))) AS h
    FROM src
)
SELECT
    {{ uuid_shape(h) }} AS observation_id,
    source,
    patient_id,
    encounter_id,
    category,
    code,
    description,
    value_type,
    value_numeric,
    CASE WHEN value_type = 'numeric' THEN NULL ELSE value_text END AS value_text,
    units,
    observed_at,
    source_file, source_row,
    CAST(NULL AS VARCHAR) AS field_issues,
    CASE
        WHEN patient_id IS NULL OR patient_id = '' THEN 'PATIENT is empty'
        WHEN kp.known_patient IS NULL THEN 'PATIENT is not a loaded patient (missing or rejected): ' || patient_id
        WHEN encounter_id IS NOT NULL AND ke.known_encounter IS NULL THEN 'ENCOUNTER is not a loaded encounter (missing or rejected): ' || encounter_id
        WHEN code IS NULL THEN 'CODE is empty'
        WHEN observed_at IS NULL THEN 'DATE is not a timestamp: ' || coalesce(date_raw, '(empty)')
        WHEN value_type = 'numeric' AND value_numeric IS NULL
            THEN 'VALUE is not a number: ' || coalesce(value_text, '(empty)')
    END AS reject_reason
FROM keyed
LEFT JOIN (SELECT patient_id AS known_patient FROM healthsim.patients) AS kp ON kp.known_patient = keyed.patient_id
LEFT JOIN (SELECT encounter_id AS known_encounter FROM healthsim.encounters) AS ke ON ke.known_encounter = keyed.encounter_id
