-- FHIR R4 Organization (US Core Organization) from healthsim.organizations (care
-- organizations, type prov, with their coordinates as the address's geolocation extension)
-- and healthsim.payers (insurers, type pay, with their phone).
WITH organizations AS (
    SELECT
        organization_id, 'prov' AS type_code, 'Healthcare Provider' AS type_display, name,
        address, city, state_usps, zip_code, latitude, longitude, CAST(NULL AS VARCHAR) AS phone,
        source_file
    FROM healthsim.organizations
    UNION ALL
    SELECT
        payer_id, 'pay', 'Payer', name, address, city, state_usps, zip_code,
        CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), phone, source_file
    FROM healthsim.payers
)
SELECT
    o.organization_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Organization"',
        '"id":' || json_quote(o.organization_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"]}',
        '"identifier":[{"system":"https://github.com/synthetichealth/synthea","value":'
            || json_quote(o.organization_id) || '}]',
        '"active":true',
        '"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":'
            || json_quote(o.type_code) || ',"display":' || json_quote(o.type_display) || '}]}]',
        '"name":' || json_quote(o.name),
        '"telecom":[{"system":"phone","value":' || json_quote(o.phone) || '}]',
        '"address":[{' || nullif(concat_ws(',',
            CASE WHEN o.latitude IS NOT NULL OR o.longitude IS NOT NULL THEN
                '"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":['
                || concat_ws(',',
                    '{"url":"latitude","valueDecimal":' || json_quote(o.latitude) || '}',
                    '{"url":"longitude","valueDecimal":' || json_quote(o.longitude) || '}'
                ) || ']}]'
            END,
            '"line":[' || json_quote(o.address) || ']',
            '"city":' || json_quote(o.city),
            '"state":' || json_quote(o.state_usps),
            '"postalCode":' || json_quote(o.zip_code),
            CASE WHEN o.address IS NOT NULL OR o.city IS NOT NULL THEN '"country":"US"' END
        ), '') || '}]'
    ) || '}' AS resource_json,
    o.type_code AS organization_type,
    o.name,
    o.city,
    o.state_usps AS state,
    o.zip_code AS postal_code,
    o.source_file
FROM organizations AS o
