-- FHIR R4 Observation from healthsim.observations: LOINC code, category, and value[x]:
-- valueQuantity with its UCUM unit for numeric results, valueString for answers; US Core
-- vital signs and laboratory profiles by category. References: subject -> Patient;
-- encounter -> Encounter when it exists. An observation without a category gets none (and
-- the base profile); the unit of a text answer is a project extension (R4 has none).
SELECT
    o.observation_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Observation"',
        '"id":' || json_quote(o.observation_id),
        '"meta":{"profile":["' || CASE coalesce(o.category, 'none')
            WHEN 'vital-signs' THEN 'http://hl7.org/fhir/StructureDefinition/vitalsigns'
            WHEN 'laboratory' THEN 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-observation-lab'
            WHEN 'none' THEN 'http://hl7.org/fhir/StructureDefinition/Observation'
            ELSE 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-simple-observation'
        END || '"]}',
        '"extension":[{"url":"urn:narr-platform:fhir:extension:value-units","valueString":'
            || json_quote(CASE WHEN o.value_numeric IS NULL THEN o.units END) || '}]',
        '"status":"final"',
        '"category":[{"coding":[{"system":"http://terminology.hl7.org/CodeSystem/observation-category","code":'
            || json_quote(o.category) || '}]}]',
        '"code":{' || concat_ws(',',
            '"coding":[{"system":"http://loinc.org","code":' || json_quote(o.code)
                || coalesce(',"display":' || json_quote(o.description), '') || '}]',
            '"text":' || json_quote(o.description)
        ) || '}',
        '"subject":{"reference":"Patient/' || o.patient_id || '"}',
        '"encounter":{"reference":"Encounter/' || e.encounter_id || '"}',
        '"effectiveDateTime":' || json_quote(strftime(o.observed_at, '%Y-%m-%dT%H:%M:%SZ')),
        '"issued":' || json_quote(strftime(o.observed_at, '%Y-%m-%dT%H:%M:%S.000Z')),
        CASE WHEN o.value_numeric IS NOT NULL THEN '"valueQuantity":{' || concat_ws(',',
            '"value":' || json_quote(o.value_numeric),
            '"unit":' || json_quote(o.units),
            CASE WHEN o.units IS NOT NULL THEN '"system":"http://unitsofmeasure.org"' END,
            '"code":' || json_quote(o.units)
        ) || '}' END,
        '"valueString":' || json_quote(o.value_text)
    ) || '}' AS resource_json,
    o.patient_id,
    e.encounter_id,
    o.category,
    o.code,
    o.value_numeric,
    o.value_text,
    o.units,
    o.observed_at,
    o.source_file
FROM healthsim.observations AS o
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = o.encounter_id
