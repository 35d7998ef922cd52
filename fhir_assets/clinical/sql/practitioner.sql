-- FHIR R4 Practitioner (US Core Practitioner) from healthsim.providers: Synthea writes the
-- name as "Given### Family###" in one field (kept whole as name.text). The organization the
-- provider works at is a project extension (R4 puts it on a PractitionerRole): a reference
-- when that Organization exists, else its identifier.
SELECT
    p.provider_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Practitioner"',
        '"id":' || json_quote(p.provider_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-practitioner"]}',
        '"extension":[{"url":"urn:narr-platform:fhir:extension:organization","valueReference":'
            || coalesce('{"reference":"Organization/' || o.organization_id || '"}',
                '{"identifier":{"system":"https://github.com/synthetichealth/synthea","value":'
                || json_quote(p.organization_id) || '}}') || '}]',
        '"identifier":[{"system":"https://github.com/synthetichealth/synthea","value":'
            || json_quote(p.provider_id) || '}]',
        '"active":true',
        '"name":[{' || concat_ws(',',
            '"text":' || json_quote(p.name),
            '"family":' || json_quote(coalesce(nullif(split_part(p.name, ' ', 2), ''), p.name)),
            '"given":[' || json_quote(CASE WHEN strpos(p.name, ' ') > 0 THEN split_part(p.name, ' ', 1) END) || ']',
            '"prefix":["Dr."]'
        ) || '}]',
        '"address":[{' || nullif(concat_ws(',',
            CASE WHEN p.latitude IS NOT NULL OR p.longitude IS NOT NULL THEN
                '"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":['
                || concat_ws(',',
                    '{"url":"latitude","valueDecimal":' || json_quote(p.latitude) || '}',
                    '{"url":"longitude","valueDecimal":' || json_quote(p.longitude) || '}'
                ) || ']}]'
            END,
            '"line":[' || json_quote(p.address) || ']',
            '"city":' || json_quote(p.city),
            '"state":' || json_quote(p.state_usps),
            '"postalCode":' || json_quote(p.zip_code),
            CASE WHEN p.address IS NOT NULL OR p.city IS NOT NULL THEN '"country":"US"' END
        ), '') || '}]',
        '"gender":' || CASE p.gender WHEN 'M' THEN '"male"' WHEN 'F' THEN '"female"' END,
        '"qualification":[{"code":{"text":' || json_quote(p.speciality) || '}}]'
    ) || '}' AS resource_json,
    p.name,
    p.speciality,
    p.organization_id,
    p.state_usps AS state,
    p.source_file
FROM healthsim.providers AS p
LEFT JOIN healthsim.organizations AS o ON o.organization_id = p.organization_id
