-- FHIR R4 Encounter (US Core Encounter) from healthsim.encounters.
-- JSON built member by member, absent members omitted (see fhir_assets/sql/patient_to_fhir.sql).
-- References: subject -> Patient/<patient_id>; serviceProvider -> Organization/<id> and
-- participant -> Practitioner/<id> when that resource exists, else the identifier of the
-- missing one. The canonical class (wellness, urgentcare, ...) is a second type coding, as
-- the v3 ActCode class folds several into AMB. Costs and the payer have no Encounter element
-- in R4: project extensions (valueMoney in USD; the payer as its Organization).
SELECT
    e.encounter_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Encounter"',
        '"id":' || json_quote(e.encounter_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-encounter"]}',
        '"extension":[' || nullif(concat_ws(',',
            '{"url":"urn:narr-platform:fhir:extension:base-cost","valueMoney":{"value":' || json_quote(e.base_cost) || ',"currency":"USD"}}',
            '{"url":"urn:narr-platform:fhir:extension:total-claim-cost","valueMoney":{"value":' || json_quote(e.total_claim_cost) || ',"currency":"USD"}}',
            '{"url":"urn:narr-platform:fhir:extension:payer-coverage","valueMoney":{"value":' || json_quote(e.payer_coverage) || ',"currency":"USD"}}',
            '{"url":"urn:narr-platform:fhir:extension:payer","valueReference":' || coalesce(
                '{"reference":"Organization/' || pa.payer_id || '"}',
                '{"identifier":{"system":"https://github.com/synthetichealth/synthea","value":'
                || json_quote(e.payer_id) || '}}') || '}'
        ), '') || ']',
        '"identifier":[{"system":"https://github.com/synthetichealth/synthea","value":'
            || json_quote(e.encounter_id) || '}]',
        '"status":"finished"',
        '"class":{"system":"http://terminology.hl7.org/CodeSystem/v3-ActCode","code":'
            || CASE e.encounter_class
                WHEN 'emergency' THEN '"EMER","display":"emergency"'
                WHEN 'inpatient' THEN '"IMP","display":"inpatient encounter"'
                WHEN 'snf' THEN '"IMP","display":"inpatient encounter"'
                WHEN 'home' THEN '"HH","display":"home health"'
                WHEN 'hospice' THEN '"HH","display":"home health"'
                WHEN 'virtual' THEN '"VR","display":"virtual"'
                ELSE '"AMB","display":"ambulatory"'
            END || '}',
        '"type":[' || concat_ws(',', '{' || concat_ws(',',
            '"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(e.code)
                || coalesce(',"display":' || json_quote(e.description), '') || '}]',
            '"text":' || json_quote(e.description)
        ) || '}', '{"coding":[{"system":"urn:narr-platform:fhir:encounter-class","code":'
            || json_quote(e.encounter_class) || '}]}') || ']',
        '"subject":{"reference":"Patient/' || e.patient_id || '"}',
        '"participant":[{"individual":' || coalesce(
            '{"reference":"Practitioner/' || pr.provider_id || '"}',
            '{"identifier":{"system":"https://github.com/synthetichealth/synthea","value":'
            || json_quote(e.provider_id) || '}}') || '}]',
        '"period":{' || concat_ws(',',
            '"start":' || json_quote(strftime(e.start_at, '%Y-%m-%dT%H:%M:%SZ')),
            '"end":' || json_quote(strftime(e.stop_at, '%Y-%m-%dT%H:%M:%SZ'))
        ) || '}',
        '"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":'
            || json_quote(e.reason_code)
            || coalesce(',"display":' || json_quote(e.reason_description), '') || '}]}]',
        '"serviceProvider":' || coalesce(
            '{"reference":"Organization/' || o.organization_id || '"}',
            '{"identifier":{"system":"https://github.com/synthetichealth/synthea","value":'
            || json_quote(e.organization_id) || '}}')
    ) || '}' AS resource_json,
    e.patient_id,
    e.encounter_class,
    e.code,
    e.start_at,
    e.stop_at,
    o.organization_id,
    pr.provider_id AS practitioner_id,
    e.source_file
FROM healthsim.encounters AS e
LEFT JOIN healthsim.organizations AS o ON o.organization_id = e.organization_id
LEFT JOIN healthsim.providers AS pr ON pr.provider_id = e.provider_id
LEFT JOIN healthsim.payers AS pa ON pa.payer_id = e.payer_id
