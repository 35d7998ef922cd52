-- FHIR R4 Immunization (US Core Immunization) from healthsim.immunizations: the vaccine as
-- a CVX code. References: patient -> Patient; encounter -> Encounter when it exists.
SELECT
    i.immunization_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Immunization"',
        '"id":' || json_quote(i.immunization_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-immunization"]}',
        '"extension":[' || '{"url":"urn:narr-platform:fhir:extension:base-cost","valueMoney":{"value":' || json_quote(i.base_cost) || ',"currency":"USD"}}' || ']',
        '"status":"completed"',
        '"vaccineCode":{' || concat_ws(',',
            '"coding":[{"system":"http://hl7.org/fhir/sid/cvx","code":' || json_quote(i.code)
                || coalesce(',"display":' || json_quote(i.description), '') || '}]',
            '"text":' || json_quote(i.description)
        ) || '}',
        '"patient":{"reference":"Patient/' || i.patient_id || '"}',
        '"encounter":{"reference":"Encounter/' || e.encounter_id || '"}',
        '"occurrenceDateTime":' || json_quote(strftime(i.administered_at, '%Y-%m-%dT%H:%M:%SZ')),
        '"primarySource":true'
    ) || '}' AS resource_json,
    i.patient_id,
    e.encounter_id,
    i.code,
    i.administered_at,
    i.source_file
FROM healthsim.immunizations AS i
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = i.encounter_id
