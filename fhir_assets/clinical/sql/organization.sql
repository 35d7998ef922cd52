-- FHIR R4 Organization (US Core Organization) from healthsim.organizations.
SELECT
    o.organization_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Organization"',
        '"id":' || json_quote(o.organization_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-organization"]}',
        '"identifier":[{"system":"https://github.com/synthetichealth/synthea","value":'
            || json_quote(o.organization_id) || '}]',
        '"active":true',
        '"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/organization-type","code":"prov","display":"Healthcare Provider"}]}]',
        '"name":' || json_quote(o.name),
        '"address":[{' || nullif(concat_ws(',',
            '"line":[' || json_quote(o.address) || ']',
            '"city":' || json_quote(o.city),
            '"state":' || json_quote(o.state_usps),
            '"postalCode":' || json_quote(o.zip_code),
            CASE WHEN o.address IS NOT NULL OR o.city IS NOT NULL THEN '"country":"US"' END
        ), '') || '}]'
    ) || '}' AS resource_json,
    o.name,
    o.city,
    o.state_usps AS state,
    o.zip_code AS postal_code,
    o.source_file
FROM healthsim.organizations AS o
