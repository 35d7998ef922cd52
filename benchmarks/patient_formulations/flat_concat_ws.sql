-- Patient JSON as ONE concat_ws('', ...) of small pieces: the document is copied once.
WITH coded AS (
    SELECT
        *,
        CASE lower(gender)
            WHEN 'male' THEN 'male' WHEN 'm' THEN 'male'
            WHEN 'female' THEN 'female' WHEN 'f' THEN 'female'
            WHEN 'other' THEN 'other' WHEN 'o' THEN 'other'
            ELSE 'unknown'
        END AS gender_code,
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
)

SELECT
    patient_id AS id,
    concat_ws('',
        '{"resourceType":"Patient","id":', json_quote(patient_id),
        CASE WHEN race IS NOT NULL OR ethnicity IS NOT NULL THEN ',"extension":[' END,
        CASE WHEN race IS NOT NULL THEN
            '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-race","extension":[' END,
        '{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":'
            || json_quote(race_code) || ',"display":' || json_quote(race_display) || '}},',
        '{"url":"text","valueString":' || json_quote(coalesce(race_display, race)) || '}]}',
        CASE WHEN race IS NOT NULL AND ethnicity IS NOT NULL THEN ',' END,
        CASE WHEN ethnicity IS NOT NULL THEN
            '{"url":"http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity","extension":[' END,
        '{"url":"ombCategory","valueCoding":{"system":"urn:oid:2.16.840.1.113883.6.238","code":'
            || json_quote(ethnicity_code) || ',"display":' || json_quote(ethnicity_display) || '}},',
        '{"url":"text","valueString":' || json_quote(coalesce(ethnicity_display, ethnicity)) || '}]}',
        CASE WHEN race IS NOT NULL OR ethnicity IS NOT NULL THEN ']' END,
        ',"identifier":[{"use":"usual"',
        ',"system":' || json_quote(identifier_system),
        ',"value":', json_quote(patient_id), '}]',
        CASE WHEN given_name IS NOT NULL OR family_name IS NOT NULL THEN ',"name":[{"use":"official"' END,
        ',"family":' || json_quote(family_name),
        ',"given":[' || json_quote(given_name) || ']',
        CASE WHEN given_name IS NOT NULL OR family_name IS NOT NULL THEN
            ',"prefix":[' || json_quote(name_prefix) || ']' END,
        CASE WHEN given_name IS NOT NULL OR family_name IS NOT NULL THEN
            ',"suffix":[' || json_quote(name_suffix) || ']' END,
        CASE WHEN given_name IS NOT NULL OR family_name IS NOT NULL THEN '}]' END,
        CASE WHEN phone IS NOT NULL OR email IS NOT NULL THEN ',"telecom":[' END,
        '{"system":"phone","value":' || json_quote(phone) || ',"use":"home"}',
        CASE WHEN phone IS NOT NULL AND email IS NOT NULL THEN ',' END,
        '{"system":"email","value":' || json_quote(email) || ',"use":"home"}',
        CASE WHEN phone IS NOT NULL OR email IS NOT NULL THEN ']' END,
        ',"gender":"', gender_code, '"',
        ',"birthDate":"' || CAST(birth_date AS VARCHAR) || '"',
        ',"deceasedDateTime":"' || CAST(deceased_date AS VARCHAR) || '"',
        CASE
            WHEN address_line IS NOT NULL OR city IS NOT NULL OR state IS NOT NULL
                OR postal_code IS NOT NULL THEN ',"address":[{"use":"home"' END,
        ',"line":[' || json_quote(address_line) || ']',
        ',"city":' || json_quote(city),
        ',"state":' || json_quote(state),
        ',"postalCode":' || json_quote(postal_code),
        CASE
            WHEN address_line IS NOT NULL OR city IS NOT NULL OR state IS NOT NULL
                OR postal_code IS NOT NULL THEN ',"country":' || json_quote(country) END,
        CASE
            WHEN address_line IS NOT NULL OR city IS NOT NULL OR state IS NOT NULL
                OR postal_code IS NOT NULL THEN '}]' END,
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
FROM labelled
