-- NOT the same JSON: the struct form serialised by to_json WITH its null members (FHIR
-- forbids them); the cost of DuckDB's serializer alone, a bound for struct-based forms.
-- FHIR R4 Patient mapping: one row of `patient_mapping_input` -> one Patient resource.
--
-- Written once in DuckDB's dialect; the Spark warehouse runs it through sqlglot
-- (struct_pack -> STRUCT(... AS k), [..] -> ARRAY(..)). No json_object, no lambdas, no macros.
--
-- Input: the temp view `patient_mapping_input` with the columns of
-- fhir_assets.patient_mapping.PATIENT_MAPPING_INPUT_COLUMNS (typed, trimmed, '' as NULL).
--
-- Null handling: FHIR JSON forbids null values, empty objects and empty arrays, so an
-- absent element is OMITTED. The resource is built as one fixed-shape struct in which an
-- absent element is NULL (a list or struct is NULL, never empty, when all its parts are
-- absent); `to_json` writes those as "key":null on both engines (Spark runs with
-- ignoreNullFields=false) and the final regexp_replace removes every null member. Inside
-- JSON text a `"` within a value is always escaped, so the pattern only matches keys.
-- Key order in the JSON is the struct field order below.

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

-- Building blocks. Both sub-extensions share one shape (url, valueCoding, valueString)
-- so they fit one list; the null member of each is removed at the end.
parts AS (
    SELECT
        *,
        struct_pack(system := 'phone', value := phone, use := 'home') AS phone_point,
        struct_pack(system := 'email', value := email, use := 'home') AS email_point,
        struct_pack(
            url := 'ombCategory',
            valueCoding := struct_pack(
                system := 'urn:oid:2.16.840.1.113883.6.238', code := race_code, display := race_display
            ),
            valueString := CAST(NULL AS VARCHAR)
        ) AS race_category,
        struct_pack(
            url := 'text',
            valueCoding := CAST(NULL AS STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)),
            valueString := coalesce(race_display, race)
        ) AS race_text,
        struct_pack(
            url := 'ombCategory',
            valueCoding := struct_pack(
                system := 'urn:oid:2.16.840.1.113883.6.238', code := ethnicity_code, display := ethnicity_display
            ),
            valueString := CAST(NULL AS VARCHAR)
        ) AS ethnicity_category,
        struct_pack(
            url := 'text',
            valueCoding := CAST(NULL AS STRUCT(system VARCHAR, code VARCHAR, display VARCHAR)),
            valueString := coalesce(ethnicity_display, ethnicity)
        ) AS ethnicity_text
    FROM labelled
),

extensions AS (
    SELECT
        *,
        struct_pack(
            url := 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race',
            extension := CASE
                WHEN race_code IS NOT NULL THEN [race_category, race_text] ELSE [race_text]
            END
        ) AS race_extension,
        struct_pack(
            url := 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity',
            extension := CASE
                WHEN ethnicity_code IS NOT NULL THEN [ethnicity_category, ethnicity_text] ELSE [ethnicity_text]
            END
        ) AS ethnicity_extension
    FROM parts
),

resources AS (
    SELECT
        *,
        struct_pack(
            resourceType := 'Patient',
            id := patient_id,
            extension := CASE
                WHEN race IS NOT NULL AND ethnicity IS NOT NULL THEN [race_extension, ethnicity_extension]
                WHEN race IS NOT NULL THEN [race_extension]
                WHEN ethnicity IS NOT NULL THEN [ethnicity_extension]
            END,
            identifier := [struct_pack(use := 'usual', system := identifier_system, value := patient_id)],
            name := CASE WHEN given_name IS NOT NULL OR family_name IS NOT NULL THEN [struct_pack(
                use := 'official',
                family := family_name,
                given := CASE WHEN given_name IS NOT NULL THEN [given_name] END,
                prefix := CASE WHEN name_prefix IS NOT NULL THEN [name_prefix] END,
                suffix := CASE WHEN name_suffix IS NOT NULL THEN [name_suffix] END
            )] END,
            telecom := CASE
                WHEN phone IS NOT NULL AND email IS NOT NULL THEN [phone_point, email_point]
                WHEN phone IS NOT NULL THEN [phone_point]
                WHEN email IS NOT NULL THEN [email_point]
            END,
            gender := gender_code,
            birthDate := CAST(birth_date AS VARCHAR),
            deceasedDateTime := CAST(deceased_date AS VARCHAR),
            address := CASE
                WHEN address_line IS NOT NULL OR city IS NOT NULL OR state IS NOT NULL
                    OR postal_code IS NOT NULL THEN [struct_pack(
                        use := 'home',
                        line := CASE WHEN address_line IS NOT NULL THEN [address_line] END,
                        city := city,
                        state := state,
                        postalCode := postal_code,
                        country := country
                    )]
            END
        ) AS resource
    FROM extensions
)

SELECT
    patient_id AS id,
    to_json(resource) AS resource_json,
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
FROM resources
