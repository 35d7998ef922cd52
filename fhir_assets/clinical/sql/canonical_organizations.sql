-- healthsim.organizations rows from landed FHIR Organization resources that are not
-- payers (type pay): the inverse of the Organization mapping, coordinates from the
-- address's geolocation extension.
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
    FROM fhir_in.imported_organization_resources
    WHERE coalesce(json_extract_string(resource_json, '$.type[0].coding[0].code'), '') <> 'pay'
)
SELECT
    lower(id) AS organization_id,
    regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    trim(json_extract_string(r, '$.name')) AS name,
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
    source_file,
    CAST(source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
