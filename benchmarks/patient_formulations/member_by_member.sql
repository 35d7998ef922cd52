-- Each part of the resource (extensions, identifier, name, ...) built as its own JSON text in
-- a CTE, the document a concat_ws(',') of the parts: a part's text is copied 2-4 times.
--
-- Written once in DuckDB's dialect; the Spark warehouse runs it through sqlglot
-- (json_quote of a scalar becomes the JSON text of a one-element array without its
-- brackets). No json_object, no lambdas, no macros.
--
-- Input: the temp view `patient_mapping_input` with the columns of
-- fhir_assets.patient_mapping.PATIENT_MAPPING_INPUT_COLUMNS (typed, trimmed, '' as NULL).
--
-- The JSON text is built directly: FHIR JSON forbids null values, empty objects and empty
-- arrays, so an absent element is OMITTED as it is built. Each member is
-- '"key":' || <value JSON>, which is NULL when the value is NULL; concat_ws skips NULL
-- arguments on both engines, so an object is '{' || concat_ws(',', members...) || '}' and
-- a list '[' || nullif(concat_ws(',', items...), '') || ']' (NULL, i.e. omitted, when it
-- has no item). Every text value goes through json_quote, which escapes it. Key order in
-- the JSON is the order of the members below.

WITH coded AS (
    SELECT
        *,
        CASE lower(gender)
            WHEN 'male' THEN 'male' WHEN 'm' THEN 'male'
            WHEN 'female' THEN 'female' WHEN 'f' THEN 'female'
            WHEN 'other' THEN 'other' WHEN 'o' THEN 'other'
            ELSE 'unknown'
        END AS gender_code,
        -- US Core race: OMB category in the CDC Race & Ethnicity code system.
        CASE lower(race)
            WHEN 'white' THEN '2106-3'
            WHEN 'black' THEN '2054-5'
            WHEN 'black or african american' THEN '2054-5'
            WHEN 'asian' THEN '2028-9'
            WHEN 'native' THEN '1002-5'
            WHEN 'american indian or alaska native' THEN '1002-5'
            WHEN 'hawaiian' THEN '2076-8'
            WHEN 'native hawaiian or other pacific islander' THEN '2076-8'
        END AS race_code,
        CASE lower(ethnicity)
            WHEN 'hispanic' THEN '2135-2'
            WHEN 'hispanic or latino' THEN '2135-2'
            WHEN 'nonhispanic' THEN '2186-5'
            WHEN 'not hispanic or latino' THEN '2186-5'
        END AS ethnicity_code
    FROM patient_mapping_input
),

labelled AS (
    SELECT
        *,
        CASE race_code
            WHEN '2106-3' THEN 'White'
            WHEN '2054-5' THEN 'Black or African American'
            WHEN '2028-9' THEN 'Asian'
            WHEN '1002-5' THEN 'American Indian or Alaska Native'
            WHEN '2076-8' THEN 'Native Hawaiian or Other Pacific Islander'
        END AS race_display,
        CASE ethnicity_code
            WHEN '2135-2' THEN 'Hispanic or Latino'
            WHEN '2186-5' THEN 'Not Hispanic or Latino'
        END AS ethnicity_display
    FROM coded
),

-- The JSON text of each part of the resource; NULL when the part is absent.
parts AS (
    SELECT
        *,
        CASE WHEN race IS NOT NULL THEN
            '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":['
            || concat_ws(',',
                CASE WHEN race_code IS NOT NULL THEN
                    '{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238",'
                    || '"code":' || json_quote(race_code)
                    || ',"display":' || json_quote(race_display) || '}}'
                END,
                '{"url":"text","valueString":' || json_quote(coalesce(race_display, race)) || '}'
            ) || ']}'
        END AS race_json,
        CASE WHEN ethnicity IS NOT NULL THEN
            '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity","extension":['
            || concat_ws(',',
                CASE WHEN ethnicity_code IS NOT NULL THEN
                    '{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238",'
                    || '"code":' || json_quote(ethnicity_code)
                    || ',"display":' || json_quote(ethnicity_display) || '}}'
                END,
                '{"url":"text","valueString":'
                || json_quote(coalesce(ethnicity_display, ethnicity)) || '}'
            ) || ']}'
        END AS ethnicity_json,
        '[{' || concat_ws(',',
            '"use":"usual"',
            '"system":' || json_quote(identifier_system),
            '"value":' || json_quote(patient_id)
        ) || '}]' AS identifier_json,
        CASE WHEN given_name IS NOT NULL OR family_name IS NOT NULL THEN
            '[{' || concat_ws(',',
                '"use":"official"',
                '"family":' || json_quote(family_name),
                '"given":[' || json_quote(given_name) || ']',
                '"prefix":[' || json_quote(name_prefix) || ']',
                '"suffix":[' || json_quote(name_suffix) || ']'
            ) || '}]'
        END AS name_json,
        '[' || nullif(concat_ws(',',
            '{"system":"phone","value":' || json_quote(phone) || ',"use":"home"}',
            '{"system":"email","value":' || json_quote(email) || ',"use":"home"}'
        ), '') || ']' AS telecom_json,
        CASE
            WHEN address_line IS NOT NULL OR city IS NOT NULL OR state IS NOT NULL
                OR postal_code IS NOT NULL OR county IS NOT NULL OR latitude IS NOT NULL
                OR longitude IS NOT NULL THEN
            '[{' || concat_ws(',',
                CASE WHEN latitude IS NOT NULL OR longitude IS NOT NULL THEN
                    '"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation",'
                    || '"extension":[' || concat_ws(',',
                        '{"url":"latitude","valueDecimal":' || json_quote(latitude) || '}',
                        '{"url":"longitude","valueDecimal":' || json_quote(longitude) || '}'
                    ) || ']}]'
                END,
                '"use":"home"',
                '"line":[' || json_quote(address_line) || ']',
                '"city":' || json_quote(city),
                '"district":' || json_quote(county),
                '"state":' || json_quote(state),
                '"postalCode":' || json_quote(postal_code),
                '"country":' || json_quote(country)
            ) || '}]'
        END AS address_json,
        CASE WHEN marital_status IS NOT NULL THEN
            '{' || concat_ws(',',
                CASE WHEN marital_status IN ('A', 'D', 'I', 'L', 'M', 'P', 'S', 'T', 'U', 'W') THEN
                    '"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",'
                    || '"code":' || json_quote(marital_status) || '}]'
                END,
                '"text":' || json_quote(marital_status)
            ) || '}'
        END AS marital_json,
        '{"url":"urn:narr-platform:fhir:extension:healthcare-expenses","valueMoney":{"value":'
            || json_quote(healthcare_expenses) || ',"currency":"USD"}}' AS expenses_json,
        '{"url":"urn:narr-platform:fhir:extension:healthcare-coverage","valueMoney":{"value":'
            || json_quote(healthcare_coverage) || ',"currency":"USD"}}' AS coverage_json
    FROM labelled
)

SELECT
    patient_id AS id,
    '{' || concat_ws(',',
        '"resourceType":"Patient"',
        '"id":' || json_quote(patient_id),
        '"extension":['
            || nullif(concat_ws(',', race_json, ethnicity_json, expenses_json, coverage_json), '')
            || ']',
        '"identifier":' || identifier_json,
        '"name":' || name_json,
        '"telecom":' || telecom_json,
        '"gender":' || json_quote(gender_code),
        '"birthDate":' || json_quote(CAST(birth_date AS VARCHAR)),
        '"deceasedDateTime":' || json_quote(CAST(deceased_date AS VARCHAR)),
        '"address":' || address_json,
        '"maritalStatus":' || marital_json
    ) || '}' AS resource_json,
    identifier_system,
    family_name,
    given_name,
    gender_code AS gender,
    birth_date,
    deceased_date,
    city,
    state,
    postal_code,
    race_code,
    ethnicity_code,
    source_file
FROM parts
