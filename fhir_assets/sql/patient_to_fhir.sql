-- FHIR R4 Patient mapping: one row of `patient_mapping_input` -> one Patient resource.
--
-- Written once in DuckDB's dialect; the Spark warehouse runs it through sqlglot
-- (json_quote of a scalar becomes the JSON text of a one-element array without its
-- brackets; concat_ws skips NULL arguments on both engines). No json_object, no lambdas,
-- no macros.
--
-- Input: the temp view `patient_mapping_input` with the columns of
-- fhir_assets.patient_mapping.PATIENT_MAPPING_INPUT_COLUMNS (typed, trimmed, '' as NULL).
--
-- The JSON text is built directly: FHIR JSON forbids null values, empty objects and empty
-- arrays, so an absent element is OMITTED as it is built. The document is ONE
-- concat_ws('', piece, ...) whose pieces carry their own commas and brackets: a member is
-- ',"key":' || <value JSON>, NULL (skipped) when the value is NULL; the opening and closing
-- of an optional object or list are pieces guarded by CASE. Each text value goes through
-- json_quote, which escapes it. Key order in the JSON is the order of the pieces.
--
-- Why this shape: the document is copied once. Building parts as JSON texts and then
-- joining them copies every byte once per level, and a chain of `||` copies the growing
-- prefix at every step (benchmarks/fhir_mapping_breakdown.py measures the alternatives).
-- The US Core race and ethnicity extensions, most of each document and mostly constant
-- text, are built once per code in the small code tables below and joined on the keyword.

WITH race_codes (keyword, code, display) AS (
    VALUES
        ('white', '2106-3', 'White'),
        ('black', '2054-5', 'Black or African American'),
        ('black or african american', '2054-5', 'Black or African American'),
        ('asian', '2028-9', 'Asian'),
        ('native', '1002-5', 'American Indian or Alaska Native'),
        ('american indian or alaska native', '1002-5', 'American Indian or Alaska Native'),
        ('hawaiian', '2076-8', 'Native Hawaiian or Other Pacific Islander'),
        ('native hawaiian or other pacific islander', '2076-8',
            'Native Hawaiian or Other Pacific Islander')
),

ethnicity_codes (keyword, code, display) AS (
    VALUES
        ('hispanic', '2135-2', 'Hispanic or Latino'),
        ('hispanic or latino', '2135-2', 'Hispanic or Latino'),
        ('nonhispanic', '2186-5', 'Not Hispanic or Latino'),
        ('not hispanic or latino', '2186-5', 'Not Hispanic or Latino')
),

race_extensions AS (
    SELECT
        keyword,
        code,
        '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":['
        || '{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238",'
        || '"code":' || json_quote(code) || ',"display":' || json_quote(display) || '}},'
        || '{"url":"text","valueString":' || json_quote(display) || '}]}' AS extension_json
    FROM race_codes
),

ethnicity_extensions AS (
    SELECT
        keyword,
        code,
        '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity","extension":['
        || '{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238",'
        || '"code":' || json_quote(code) || ',"display":' || json_quote(display) || '}},'
        || '{"url":"text","valueString":' || json_quote(display) || '}]}' AS extension_json
    FROM ethnicity_codes
),

coded AS (
    SELECT
        p.*,
        CASE lower(p.gender)
            WHEN 'male' THEN 'male' WHEN 'm' THEN 'male'
            WHEN 'female' THEN 'female' WHEN 'f' THEN 'female'
            WHEN 'other' THEN 'other' WHEN 'o' THEN 'other'
            ELSE 'unknown'
        END AS gender_code,
        r.code AS race_code,
        coalesce(
            r.extension_json,
            '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":['
            || '{"url":"text","valueString":' || json_quote(p.race) || '}]}'
        ) AS race_json,
        e.code AS ethnicity_code,
        coalesce(
            e.extension_json,
            '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity","extension":['
            || '{"url":"text","valueString":' || json_quote(p.ethnicity) || '}]}'
        ) AS ethnicity_json,
        '{"url":"urn:narr-platform:fhir:extension:healthcare-expenses","valueMoney":{"value":'
            || json_quote(p.healthcare_expenses) || ',"currency":"USD"}}' AS expenses_json,
        '{"url":"urn:narr-platform:fhir:extension:healthcare-coverage","valueMoney":{"value":'
            || json_quote(p.healthcare_coverage) || ',"currency":"USD"}}' AS coverage_json,
        p.given_name IS NOT NULL OR p.family_name IS NOT NULL AS has_name,
        p.address_line IS NOT NULL OR p.city IS NOT NULL OR p.state IS NOT NULL
            OR p.postal_code IS NOT NULL OR p.county IS NOT NULL OR p.latitude IS NOT NULL
            OR p.longitude IS NOT NULL AS has_address,
        p.latitude IS NOT NULL OR p.longitude IS NOT NULL AS has_geolocation
    FROM patient_mapping_input AS p
    LEFT JOIN race_extensions AS r ON r.keyword = lower(p.race)
    LEFT JOIN ethnicity_extensions AS e ON e.keyword = lower(p.ethnicity)
)

SELECT
    patient_id AS id,
    concat_ws('',
        '{"resourceType":"Patient","id":', json_quote(patient_id),
        -- extension: race, ethnicity, expenses, coverage; a comma before an item that
        -- follows another
        CASE WHEN race_json IS NOT NULL OR ethnicity_json IS NOT NULL
            OR expenses_json IS NOT NULL OR coverage_json IS NOT NULL THEN ',"extension":[' END,
        race_json,
        CASE WHEN ethnicity_json IS NOT NULL AND race_json IS NOT NULL THEN ',' END,
        ethnicity_json,
        CASE WHEN expenses_json IS NOT NULL
            AND (race_json IS NOT NULL OR ethnicity_json IS NOT NULL) THEN ',' END,
        expenses_json,
        CASE WHEN coverage_json IS NOT NULL AND (race_json IS NOT NULL
            OR ethnicity_json IS NOT NULL OR expenses_json IS NOT NULL) THEN ',' END,
        coverage_json,
        CASE WHEN race_json IS NOT NULL OR ethnicity_json IS NOT NULL
            OR expenses_json IS NOT NULL OR coverage_json IS NOT NULL THEN ']' END,
        ',"identifier":[{"use":"usual"',
        ',"system":' || json_quote(identifier_system),
        ',"value":', json_quote(patient_id), '}]',
        CASE WHEN has_name THEN ',"name":[{"use":"official"' END,
        ',"family":' || json_quote(family_name),
        ',"given":[' || json_quote(given_name) || ']',
        CASE WHEN has_name THEN ',"prefix":[' || json_quote(name_prefix) || ']' END,
        CASE WHEN has_name THEN ',"suffix":[' || json_quote(name_suffix) || ']' END,
        CASE WHEN has_name THEN '}]' END,
        CASE WHEN phone IS NOT NULL OR email IS NOT NULL THEN ',"telecom":[' END,
        '{"system":"phone","value":' || json_quote(phone) || ',"use":"home"}',
        CASE WHEN phone IS NOT NULL AND email IS NOT NULL THEN ',' END,
        '{"system":"email","value":' || json_quote(email) || ',"use":"home"}',
        CASE WHEN phone IS NOT NULL OR email IS NOT NULL THEN ']' END,
        ',"gender":"', gender_code, '"',
        ',"birthDate":"' || CAST(birth_date AS VARCHAR) || '"',
        ',"deceasedDateTime":"' || CAST(deceased_date AS VARCHAR) || '"',
        CASE WHEN has_address THEN ',"address":[{' END,
        CASE WHEN has_geolocation THEN
            '"extension":[{"url":"http://hl7.org/fhir/StructureDefinition/geolocation","extension":['
        END,
        '{"url":"latitude","valueDecimal":' || json_quote(latitude) || '}',
        CASE WHEN latitude IS NOT NULL AND longitude IS NOT NULL THEN ',' END,
        '{"url":"longitude","valueDecimal":' || json_quote(longitude) || '}',
        CASE WHEN has_geolocation THEN ']}],' END,
        CASE WHEN has_address THEN '"use":"home"' END,
        ',"line":[' || json_quote(address_line) || ']',
        ',"city":' || json_quote(city),
        ',"district":' || json_quote(county),
        ',"state":' || json_quote(state),
        ',"postalCode":' || json_quote(postal_code),
        CASE WHEN has_address THEN ',"country":' || json_quote(country) END,
        CASE WHEN has_address THEN '}]' END,
        CASE WHEN marital_status IS NOT NULL THEN ',"maritalStatus":{' END,
        CASE WHEN marital_status IN ('A', 'D', 'I', 'L', 'M', 'P', 'S', 'T', 'U', 'W') THEN
            '"coding":[{"system":"http://terminology.hl7.org/CodeSystem/v3-MaritalStatus",'
            || '"code":' || json_quote(marital_status) || '}],'
        END,
        '"text":' || json_quote(marital_status) || '}',
        '}'
    ) AS resource_json,
    identifier_system,
    family_name,
    given_name,
    gender_code AS gender,
    birth_date,
    deceased_date,
    city,
    state,
    postal_code,
    latitude,
    longitude,
    race_code,
    ethnicity_code,
    source_file
FROM coded
