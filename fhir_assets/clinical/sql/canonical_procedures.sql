-- healthsim.procedures rows from landed FHIR Procedure resources: the inverse of the
-- Procedure mapping; the base cost from its project extension.
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.performedPeriod.start') AS start_raw,
        json_extract_string(resource_json, '$.performedPeriod.end') AS stop_raw
    FROM fhir_in.imported_procedure_resources
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
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:base-cost'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS base_cost
    FROM extensions
    GROUP BY id
)
SELECT
    lower(raw.id) AS procedure_id,
    regexp_extract(replace(raw.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    lower(regexp_extract(json_extract_string(r, '$.subject.reference'), '([^/:]+)$', 1)) AS patient_id,
    lower(nullif(regexp_extract(json_extract_string(r, '$.encounter.reference'), '([^/:]+)$', 1), '')) AS encounter_id,
    json_extract_string(r, '$.code.coding[0].code') AS code,
    coalesce(json_extract_string(r, '$.code.text'),
        json_extract_string(r, '$.code.coding[0].display')) AS description,
    {{ timestamp(start_raw) }} AS start_at,
    {{ timestamp(stop_raw) }} AS stop_at,
    CAST(p.base_cost AS DECIMAL(18, 2)) AS base_cost,
    json_extract_string(r, '$.reasonCode[0].coding[0].code') AS reason_code,
    raw.source_file,
    CAST(raw.source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
LEFT JOIN pivoted AS p ON p.id = raw.id
