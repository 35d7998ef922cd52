-- FHIR R4 Claim from healthsim.claims: the billed encounter, its diagnoses (SNOMED CT,
-- in Synthea's order) and the billed total. References: patient -> Patient; provider ->
-- Practitioner when it exists (else the encounter's Organization); insurance names the
-- payer (a Coverage is not modelled) and insurer -> the payer's Organization;
-- item.encounter -> Encounter when it exists. A missing practitioner or payer is named by
-- its identifier. Synthea's claim status and type id, and the outstanding amount, have no
-- Claim element in R4 (they belong to ClaimResponse): project extension and code system.
WITH claim_rows AS (
    SELECT
        c.*,
        e.encounter_id AS known_encounter_id,
        pr.provider_id AS practitioner_id,
        o.organization_id AS facility_id,
        pa.name AS payer_name,
        pa.payer_id AS known_payer_id
    FROM healthsim.claims AS c
    LEFT JOIN healthsim.encounters AS e ON e.encounter_id = c.encounter_id
    LEFT JOIN healthsim.providers AS pr ON pr.provider_id = c.provider_id
    LEFT JOIN healthsim.organizations AS o ON o.organization_id = e.organization_id
    LEFT JOIN healthsim.payers AS pa ON pa.payer_id = c.payer_id
),
diagnoses AS (
    SELECT
        *,
        '[' || nullif(concat_ws(',',
            CASE WHEN split_part(diagnosis_codes, ',', 1) <> '' THEN '{"sequence":1,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 1)) || '}]}'
                || CASE WHEN primary_diagnosis_code IS NOT NULL THEN ',"type":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/ex-diagnosistype","code":"principal"}]}]' ELSE '' END || '}' END,
            CASE WHEN split_part(diagnosis_codes, ',', 2) <> '' THEN '{"sequence":2,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 2)) || '}]}}' END,
            CASE WHEN split_part(diagnosis_codes, ',', 3) <> '' THEN '{"sequence":3,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 3)) || '}]}}' END,
            CASE WHEN split_part(diagnosis_codes, ',', 4) <> '' THEN '{"sequence":4,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 4)) || '}]}}' END,
            CASE WHEN split_part(diagnosis_codes, ',', 5) <> '' THEN '{"sequence":5,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 5)) || '}]}}' END,
            CASE WHEN split_part(diagnosis_codes, ',', 6) <> '' THEN '{"sequence":6,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 6)) || '}]}}' END,
            CASE WHEN split_part(diagnosis_codes, ',', 7) <> '' THEN '{"sequence":7,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 7)) || '}]}}' END,
            CASE WHEN split_part(diagnosis_codes, ',', 8) <> '' THEN '{"sequence":8,"diagnosisCodeableConcept":{"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(split_part(diagnosis_codes, ',', 8)) || '}]}}' END
        ), '') || ']' AS diagnosis_json
    FROM claim_rows
)
SELECT
    claim_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Claim"',
        '"id":' || json_quote(claim_id),
        '"extension":[' || concat_ws(',',
            '{"url":"urn:narr-platform:fhir:extension:claim-status","valueCode":' || json_quote(status) || '}',
            '{"url":"urn:narr-platform:fhir:extension:outstanding-amount","valueMoney":{"value":'
                || json_quote(outstanding_amount) || ',"currency":"USD"}}'
        ) || ']',
        '"status":"active"',
        '"type":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/claim-type","code":'
            || CASE WHEN claim_type_id = 1 THEN '"institutional"' ELSE '"professional"' END || '}'
            || coalesce(',{"system":"urn:narr-platform:fhir:healthcare-claim-type","code":'
                || json_quote(CAST(claim_type_id AS VARCHAR)) || '}', '') || ']}',
        '"use":"claim"',
        '"patient":{"reference":"Patient/' || patient_id || '"}',
        '"billablePeriod":{"start":' || json_quote(strftime(service_at, '%Y-%m-%dT%H:%M:%SZ')) || '}',
        '"created":' || json_quote(strftime(service_at, '%Y-%m-%dT%H:%M:%SZ')),
        '"provider":' || coalesce(
            '{"reference":"Practitioner/' || practitioner_id || '"}',
            '{"identifier":{"system":"https://github.com/synthetichealth/synthea","value":' || json_quote(provider_id) || '}}',
            '{"reference":"Organization/' || facility_id || '"}',
            '{"display":"unknown provider"}'
        ),
        '"insurer":' || coalesce(
            '{"reference":"Organization/' || known_payer_id || '"}',
            '{"identifier":{"system":"https://github.com/synthetichealth/synthea","value":' || json_quote(payer_id) || '}}'),
        '"priority":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/processpriority","code":"normal"}]}',
        '"diagnosis":' || diagnosis_json,
        '"insurance":[{"sequence":1,"focal":true,"coverage":{"display":'
            || json_quote(coalesce(payer_name, 'no insurance')) || '}}]',
        '"item":[{' || concat_ws(',',
            '"sequence":1',
            '"productOrService":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/ex-USCLS","code":"1200","display":"encounter"}]}',
            '"encounter":[{"reference":"Encounter/' || known_encounter_id || '"}]',
            '"net":{"value":' || json_quote(claim_amount) || ',"currency":"USD"}'
        ) || '}]',
        '"total":{"value":' || json_quote(claim_amount) || ',"currency":"USD"}'
    ) || '}' AS resource_json,
    patient_id,
    known_encounter_id AS encounter_id,
    practitioner_id,
    service_at,
    status,
    claim_amount,
    source_file
FROM diagnoses
