-- healthsim.allergies rows from landed FHIR AllergyIntolerance resources: the inverse of
-- the AllergyIntolerance mapping; the code system back to Synthea's name (RXNORM,
-- SNOMED-CT), the resolution date from its project extension.
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.onsetDateTime') AS onset_raw
    FROM fhir_in.imported_allergy_intolerance_resources
),
extensions AS (
    SELECT id, json_extract_string(e, '$.url') AS url, e
    FROM (
        SELECT id, unnest(CAST(json_extract(r, '$.extension') AS JSON[])) AS e FROM raw
    ) AS x
),
pivoted AS (
    SELECT
        id,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:resolved-date'
            THEN json_extract_string(e, '$.valueDate') END) AS resolved_raw
    FROM extensions
    GROUP BY id
)
SELECT
    lower(raw.id) AS allergy_id,
    regexp_extract(replace(raw.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    lower(regexp_extract(json_extract_string(r, '$.patient.reference'), '([^/:]+)$', 1)) AS patient_id,
    lower(nullif(regexp_extract(json_extract_string(r, '$.encounter.reference'), '([^/:]+)$', 1), '')) AS encounter_id,
    json_extract_string(r, '$.code.coding[0].code') AS code,
    CASE json_extract_string(r, '$.code.coding[0].system')
        WHEN 'http://www.nlm.nih.gov/research/umls/rxnorm' THEN 'RXNORM'
        WHEN 'http://snomed.info/sct' THEN 'SNOMED-CT' END AS code_system,
    coalesce(json_extract_string(r, '$.code.text'),
        json_extract_string(r, '$.code.coding[0].display')) AS description,
    json_extract_string(r, '$.type') AS allergy_type,
    json_extract_string(r, '$.category[0]') AS category,
    json_extract_string(r, '$.reaction[0].manifestation[0].coding[0].code') AS reaction_code,
    json_extract_string(r, '$.reaction[0].manifestation[0].coding[0].display') AS reaction_description,
    json_extract_string(r, '$.reaction[0].severity') AS severity,
    {{ date(onset_raw) }} AS onset_date,
    {{ date(p.resolved_raw) }} AS resolved_date,
    raw.source_file,
    CAST(raw.source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
LEFT JOIN pivoted AS p ON p.id = raw.id
