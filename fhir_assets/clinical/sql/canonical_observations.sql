-- healthsim.observations rows from landed FHIR Observation resources: the inverse of the
-- Observation mapping. valueQuantity is a numeric value with its unit, anything else a text
-- answer (valueString, its unit from the project extension).
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.effectiveDateTime') AS date_raw,
        json_extract(resource_json, '$.valueQuantity') IS NOT NULL AS is_quantity
    FROM fhir_in.imported_observation_resources
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
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:value-units'
            THEN json_extract_string(e, '$.valueString') END) AS text_units
    FROM extensions
    GROUP BY id
)
SELECT
    lower(raw.id) AS observation_id,
    regexp_extract(replace(raw.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    lower(regexp_extract(json_extract_string(r, '$.subject.reference'), '([^/:]+)$', 1)) AS patient_id,
    lower(nullif(regexp_extract(json_extract_string(r, '$.encounter.reference'), '([^/:]+)$', 1), '')) AS encounter_id,
    json_extract_string(r, '$.category[0].coding[0].code') AS category,
    json_extract_string(r, '$.code.coding[0].code') AS code,
    coalesce(json_extract_string(r, '$.code.text'),
        json_extract_string(r, '$.code.coding[0].display')) AS description,
    CASE WHEN is_quantity THEN 'numeric' ELSE 'text' END AS value_type,
    CAST(json_extract_string(r, '$.valueQuantity.value') AS DOUBLE) AS value_numeric,
    json_extract_string(r, '$.valueString') AS value_text,
    CASE WHEN is_quantity THEN json_extract_string(r, '$.valueQuantity.unit') ELSE p.text_units END AS units,
    {{ timestamp(date_raw) }} AS observed_at,
    raw.source_file,
    CAST(raw.source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
LEFT JOIN pivoted AS p ON p.id = raw.id
