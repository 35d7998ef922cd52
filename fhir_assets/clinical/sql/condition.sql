-- FHIR R4 Condition (US Core Condition, encounter diagnosis) from healthsim.conditions.
-- References: subject -> Patient/<patient_id>; encounter -> Encounter/<id> when it exists.
SELECT
    c.condition_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Condition"',
        '"id":' || json_quote(c.condition_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-condition-encounter-diagnosis"]}',
        '"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-clinical","code":'
            || CASE WHEN c.resolved_date IS NULL THEN '"active"' ELSE '"resolved"' END || '}]}',
        '"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-ver-status","code":"confirmed"}]}',
        '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/condition-category","code":"encounter-diagnosis","display":"Encounter Diagnosis"}]}]',
        '"code":{' || concat_ws(',',
            '"coding":[{"system":"http://snomed.info/sct","code":' || json_quote(c.code)
                || coalesce(',"display":' || json_quote(c.description), '') || '}]',
            '"text":' || json_quote(c.description)
        ) || '}',
        '"subject":{"reference":"Patient/' || c.patient_id || '"}',
        '"encounter":{"reference":"Encounter/' || e.encounter_id || '"}',
        '"onsetDateTime":' || json_quote(CAST(c.onset_date AS VARCHAR)),
        '"abatementDateTime":' || json_quote(CAST(c.resolved_date AS VARCHAR)),
        '"recordedDate":' || json_quote(CAST(c.onset_date AS VARCHAR))
    ) || '}' AS resource_json,
    c.patient_id,
    e.encounter_id,
    c.code,
    c.onset_date,
    c.resolved_date,
    c.source_file
FROM healthsim.conditions AS c
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = c.encounter_id
