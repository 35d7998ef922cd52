-- The mapping with one CASE per optional block (name, address) around a small concat_ws('')
-- of its members, instead of a CASE per guarded piece.
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
        p.given_name IS NOT NULL OR p.family_name IS NOT NULL AS has_name,
        p.address_line IS NOT NULL OR p.city IS NOT NULL OR p.state IS NOT NULL
            OR p.postal_code IS NOT NULL AS has_address
    FROM patient_mapping_input AS p
    LEFT JOIN race_extensions AS r ON r.keyword = lower(p.race)
    LEFT JOIN ethnicity_extensions AS e ON e.keyword = lower(p.ethnicity)
)

SELECT
    patient_id AS id,
    concat_ws('',
        '{"resourceType":"Patient","id":', json_quote(patient_id),
        CASE WHEN race_json IS NOT NULL OR ethnicity_json IS NOT NULL THEN ',"extension":[' END,
        race_json,
        CASE WHEN race_json IS NOT NULL AND ethnicity_json IS NOT NULL THEN ',' END,
        ethnicity_json,
        CASE WHEN race_json IS NOT NULL OR ethnicity_json IS NOT NULL THEN ']' END,
        ',"identifier":[{"use":"usual"',
        ',"system":' || json_quote(identifier_system),
        ',"value":', json_quote(patient_id), '}]',
        CASE WHEN has_name THEN concat_ws('', ',"name":[{"use":"official"',
            ',"family":' || json_quote(family_name),
            ',"given":[' || json_quote(given_name) || ']',
            ',"prefix":[' || json_quote(name_prefix) || ']',
            ',"suffix":[' || json_quote(name_suffix) || ']', '}]') END,
        CASE WHEN phone IS NOT NULL OR email IS NOT NULL THEN ',"telecom":[' END,
        '{"system":"phone","value":' || json_quote(phone) || ',"use":"home"}',
        CASE WHEN phone IS NOT NULL AND email IS NOT NULL THEN ',' END,
        '{"system":"email","value":' || json_quote(email) || ',"use":"home"}',
        CASE WHEN phone IS NOT NULL OR email IS NOT NULL THEN ']' END,
        ',"gender":"', gender_code, '"',
        ',"birthDate":"' || CAST(birth_date AS VARCHAR) || '"',
        ',"deceasedDateTime":"' || CAST(deceased_date AS VARCHAR) || '"',
        CASE WHEN has_address THEN concat_ws('', ',"address":[{"use":"home"',
            ',"line":[' || json_quote(address_line) || ']',
            ',"city":' || json_quote(city),
            ',"state":' || json_quote(state),
            ',"postalCode":' || json_quote(postal_code),
            ',"country":' || json_quote(country), '}]') END,
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
    race_code,
    ethnicity_code,
    source_file
FROM coded
