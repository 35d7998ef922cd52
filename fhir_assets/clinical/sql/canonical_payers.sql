-- healthsim.payers rows from landed FHIR Organization resources of type pay (payers):
-- the inverse of the Organization mapping's payer rows.
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.address[0].state') AS state_raw,
        json_extract_string(resource_json, '$.address[0].postalCode') AS postal_raw
    FROM fhir_in.imported_organization_resources
    WHERE json_extract_string(resource_json, '$.type[0].coding[0].code') = 'pay'
)
SELECT
    lower(id) AS payer_id,
    regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    {{ text(json_extract_string(r, '$.name')) }} AS name,
    {{ text(json_extract_string(r, '$.address[0].line[0]')) }} AS address,
    {{ text(json_extract_string(r, '$.address[0].city')) }} AS city,
    {{ state_usps(state_raw) }} AS state_usps,
    {{ zip5(postal_raw) }} AS zip_code,
    {{ text(json_extract_string(r, '$.telecom[0].value')) }} AS phone,
    source_file,
    CAST(source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
