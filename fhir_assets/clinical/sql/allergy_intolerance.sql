-- FHIR R4 AllergyIntolerance (US Core) from healthsim.allergies: the substance as SNOMED CT
-- or RxNorm, with category, clinical status and the first reaction. References: patient ->
-- Patient; encounter -> Encounter when it exists. R4 has no resolution date: a project
-- extension carries it.
SELECT
    a.allergy_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"AllergyIntolerance"',
        '"id":' || json_quote(a.allergy_id),
        '"meta":{"profile":["http://hl7.org/fhir/us/core/StructureDefinition/us-core-allergyintolerance"]}',
        '"extension":[{"url":"urn:narr-platform:fhir:extension:resolved-date","valueDate":'
            || json_quote(CAST(a.resolved_date AS VARCHAR)) || '}]',
        '"clinicalStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-clinical","code":'
            || CASE WHEN a.resolved_date IS NULL THEN '"active"' ELSE '"resolved"' END || '}]}',
        '"verificationStatus":{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/allergyintolerance-verification","code":"confirmed"}]}',
        '"type":' || CASE a.allergy_type WHEN 'allergy' THEN '"allergy"' WHEN 'intolerance' THEN '"intolerance"' END,
        '"category":[' || CASE a.category
            WHEN 'food' THEN '"food"' WHEN 'medication' THEN '"medication"'
            WHEN 'environment' THEN '"environment"' WHEN 'biologic' THEN '"biologic"'
        END || ']',
        '"code":{' || concat_ws(',',
            '"coding":[{"system":' || CASE WHEN a.code_system = 'RXNORM'
                THEN '"http://www.nlm.nih.gov/research/umls/rxnorm"' ELSE '"http://snomed.info/sct"' END
                || ',"code":' || json_quote(a.code)
                || coalesce(',"display":' || json_quote(a.description), '') || '}]',
            '"text":' || json_quote(a.description)
        ) || '}',
        '"patient":{"reference":"Patient/' || a.patient_id || '"}',
        '"encounter":{"reference":"Encounter/' || e.encounter_id || '"}',
        '"onsetDateTime":' || json_quote(CAST(a.onset_date AS VARCHAR)),
        CASE WHEN a.reaction_code IS NOT NULL THEN '"reaction":[{' || concat_ws(',',
            '"manifestation":[{"coding":[{"system":"http://snomed.info/sct","code":'
                || json_quote(a.reaction_code)
                || coalesce(',"display":' || json_quote(a.reaction_description), '') || '}]}]',
            '"severity":' || CASE a.severity WHEN 'mild' THEN '"mild"' WHEN 'moderate' THEN '"moderate"'
                WHEN 'severe' THEN '"severe"' END
        ) || '}]' END
    ) || '}' AS resource_json,
    a.patient_id,
    e.encounter_id,
    a.code,
    a.category,
    a.onset_date,
    a.source_file
FROM healthsim.allergies AS a
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = a.encounter_id
