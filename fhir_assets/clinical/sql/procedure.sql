-- FHIR R4 Procedure (US Core Procedure) from healthsim.procedures.
-- References: subject -> Patient; encounter -> Encounter when it exists.
SELECT
    p.procedure_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Procedure"',
        '"id":' || json_quote(p.procedure_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-procedure"]}',
        '"extension":[' || '{"url":"urn:narr-platform:fhir:extension:base-cost","valueMoney":{"value":' || json_quote(p.base_cost) || ',"currency":"USD"}}' || ']',
        '"status":"completed"',
        '"code":{' || concat_ws(',',
            '"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(p.code)
                || coalesce(',"display":' || json_quote(p.description), '') || '}]',
            '"text":' || json_quote(p.description)
        ) || '}',
        '"subject":{"reference":"Patient/' || p.patient_id || '"}',
        '"encounter":{"reference":"Encounter/' || e.encounter_id || '"}',
        '"performedPeriod":{' || concat_ws(',',
            '"start":' || json_quote(strftime(p.start_at, '%Y-%m-%dT%H:%M:%SZ')),
            '"end":' || json_quote(strftime(p.stop_at, '%Y-%m-%dT%H:%M:%SZ'))
        ) || '}',
        '"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":'
            || json_quote(p.reason_code) || '}]}]'
    ) || '}' AS resource_json,
    p.patient_id,
    e.encounter_id,
    p.code,
    p.start_at,
    p.stop_at,
    p.source_file
FROM healthsim.procedures AS p
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = p.encounter_id
