-- healthsim.conditions rows from landed FHIR Condition resources: the inverse of the
-- Condition mapping (references as Type/<id> or urn:uuid:<id>).
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.onsetDateTime') AS onset_raw,
        json_extract_string(resource_json, '$.abatementDateTime') AS abatement_raw
    FROM fhir_in.imported_condition_resources
)
SELECT
    lower(id) AS condition_id,
    regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    lower(regexp_extract(json_extract_string(r, '$.subject.reference'), '([^/:]+)$', 1)) AS patient_id,
    lower(nullif(regexp_extract(json_extract_string(r, '$.encounter.reference'), '([^/:]+)$', 1), '')) AS encounter_id,
    json_extract_string(r, '$.code.coding[0].code') AS code,
    coalesce(json_extract_string(r, '$.code.text'),
        json_extract_string(r, '$.code.coding[0].display')) AS description,
    {{ date(onset_raw) }} AS onset_date,
    {{ date(abatement_raw) }} AS resolved_date,
    source_file,
    CAST(source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
