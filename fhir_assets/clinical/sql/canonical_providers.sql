-- healthsim.providers rows from landed FHIR Practitioner resources: the inverse of the
-- Practitioner mapping (the whole name from name.text, the speciality from the
-- qualification, the organization from the project extension).
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.address[0].state') AS state_raw,
        json_extract_string(resource_json, '$.address[0].postalCode') AS postal_raw,
        CASE WHEN json_extract_string(resource_json, '$.address[0].extension[0].url') = 'http://hl7.org/fhir/StructureDefinition/geolocation'
            THEN json_extract(resource_json, '$.address[0].extension[0]') END AS geo
    FROM fhir_in.imported_practitioner_resources
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
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:organization' THEN coalesce(
            nullif(regexp_extract(json_extract_string(e, '$.valueReference.reference'), '([^/:]+)$', 1), ''),
            json_extract_string(e, '$.valueReference.identifier.value')) END) AS organization_id
    FROM extensions
    GROUP BY id
)
SELECT
    lower(raw.id) AS provider_id,
    regexp_extract(replace(raw.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    lower(p.organization_id) AS organization_id,
    coalesce(json_extract_string(r, '$.name[0].text'), nullif(concat_ws(' ',
        json_extract_string(r, '$.name[0].given[0]'), json_extract_string(r, '$.name[0].family')), '')) AS name,
    CASE json_extract_string(r, '$.gender') WHEN 'male' THEN 'M' WHEN 'female' THEN 'F' END AS gender,
    json_extract_string(r, '$.qualification[0].code.text') AS speciality,
    {{ text(json_extract_string(r, '$.address[0].line[0]')) }} AS address,
    {{ text(json_extract_string(r, '$.address[0].city')) }} AS city,
    {{ state_usps(state_raw) }} AS state_usps,
    {{ zip5(postal_raw) }} AS zip_code,
    CAST(coalesce(
        CASE WHEN json_extract_string(geo, '$.extension[0].url') = 'latitude' THEN json_extract_string(geo, '$.extension[0].valueDecimal') END,
        CASE WHEN json_extract_string(geo, '$.extension[1].url') = 'latitude' THEN json_extract_string(geo, '$.extension[1].valueDecimal') END
    ) AS DOUBLE) AS latitude,
    CAST(coalesce(
        CASE WHEN json_extract_string(geo, '$.extension[0].url') = 'longitude' THEN json_extract_string(geo, '$.extension[0].valueDecimal') END,
        CASE WHEN json_extract_string(geo, '$.extension[1].url') = 'longitude' THEN json_extract_string(geo, '$.extension[1].valueDecimal') END
    ) AS DOUBLE) AS longitude,
    raw.source_file,
    CAST(raw.source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
LEFT JOIN pivoted AS p ON p.id = raw.id
