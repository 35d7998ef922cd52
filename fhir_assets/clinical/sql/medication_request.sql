-- FHIR R4 MedicationRequest (US Core MedicationRequest) from healthsim.medications; the
-- medication as an RxNorm code. References: subject -> Patient; encounter -> Encounter.
-- Costs and the payer have no MedicationRequest element in R4: project extensions
-- (valueMoney in USD; the payer as its Organization, or its identifier when missing).
SELECT
    m.medication_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"MedicationRequest"',
        '"id":' || json_quote(m.medication_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-medicationrequest"]}',
        '"extension":[' || nullif(concat_ws(',',
            '{"url":"urn:narr-platform:fhir:extension:base-cost","valueMoney":{"value":' || json_quote(m.base_cost) || ',"currency":"USD"}}',
            '{"url":"urn:narr-platform:fhir:extension:payer-coverage","valueMoney":{"value":' || json_quote(m.payer_coverage) || ',"currency":"USD"}}',
            '{"url":"urn:narr-platform:fhir:extension:total-cost","valueMoney":{"value":' || json_quote(m.total_cost) || ',"currency":"USD"}}',
            '{"url":"urn:narr-platform:fhir:extension:payer","valueReference":' || coalesce(
                '{"reference":"Organization/' || pa.payer_id || '"}',
                '{"identifier":{"system":"https://github.com/synthetichealth/synthea","value":'
                || json_quote(m.payer_id) || '}}') || '}'
        ), '') || ']',
        '"status":' || CASE WHEN m.stop_at IS NULL THEN '"active"' ELSE '"stopped"' END,
        '"intent":"order"',
        '"medicationCodeableConcept":{' || concat_ws(',',
            '"coding":[{"system":"http://www.nlm.nih.gov/research/umls/rxnorm","code":'
                || json_quote(m.code) || coalesce(',"display":' || json_quote(m.description), '')
                || '}]',
            '"text":' || json_quote(m.description)
        ) || '}',
        '"subject":{"reference":"Patient/' || m.patient_id || '"}',
        '"encounter":{"reference":"Encounter/' || e.encounter_id || '"}',
        '"authoredOn":' || json_quote(strftime(m.start_at, '%Y-%m-%dT%H:%M:%SZ')),
        '"requester":{"reference":"Practitioner/' || e.practitioner_id || '"}',
        '"reasonCode":[{"coding":[{"system":"http://snomed.info/sct","code":'
            || json_quote(m.reason_code) || '}]}]',
        '"dispenseRequest":{' || nullif(concat_ws(',',
            '"validityPeriod":{' || concat_ws(',',
                '"start":' || json_quote(strftime(m.start_at, '%Y-%m-%dT%H:%M:%SZ')),
                '"end":' || json_quote(strftime(m.stop_at, '%Y-%m-%dT%H:%M:%SZ'))
            ) || '}',
            '"numberOfRepeatsAllowed":' || json_quote(CASE WHEN m.dispenses > 0 THEN m.dispenses - 1 END)
        ), '') || '}'
    ) || '}' AS resource_json,
    m.patient_id,
    e.encounter_id,
    m.code,
    m.start_at,
    m.stop_at,
    m.source_file
FROM healthsim.medications AS m
LEFT JOIN healthsim.payers AS pa ON pa.payer_id = m.payer_id
LEFT JOIN (
    SELECT enc.encounter_id, pr.provider_id AS practitioner_id
    FROM healthsim.encounters AS enc
    LEFT JOIN healthsim.providers AS pr ON pr.provider_id = enc.provider_id
) AS e ON e.encounter_id = m.encounter_id
