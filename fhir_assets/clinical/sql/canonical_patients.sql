-- healthsim.patients rows from landed FHIR Patient resources (fhir_in.imported_patients):
-- the inverse of the Patient mapping. Race and ethnicity come back as Synthea's terms from
-- their OMB codes (the text otherwise); the county FIPS code is resolved through
-- reference.ref_geography like the canonical table; state_raw is the address state as
-- landed. Text is read with the shared normalization rules.
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.birthDate') AS birth_raw,
        json_extract_string(resource_json, '$.deceasedDateTime') AS death_raw,
        json_extract_string(resource_json, '$.address[0].state') AS state_raw,
        json_extract_string(resource_json, '$.address[0].postalCode') AS postal_raw
    FROM fhir_in.imported_patients
),
extensions AS (
    SELECT id, json_extract_string(e, '$.url') AS url, e
    FROM (
        SELECT id, unnest(CAST(json_extract(r, '$.extension') AS JSON[])) AS e FROM raw
    ) AS x
),
pivoted AS (
    SELECT
        id,
        max(CASE WHEN url = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race' THEN
            CASE WHEN json_extract_string(e, '$.extension[0].url') = 'ombCategory'
                THEN json_extract_string(e, '$.extension[0].valueCoding.code') END END) AS race_code,
        max(CASE WHEN url = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-race' THEN
            coalesce(
                CASE WHEN json_extract_string(e, '$.extension[1].url') = 'text'
                    THEN json_extract_string(e, '$.extension[1].valueString') END,
                CASE WHEN json_extract_string(e, '$.extension[0].url') = 'text'
                    THEN json_extract_string(e, '$.extension[0].valueString') END) END) AS race_text,
        max(CASE WHEN url = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity' THEN
            CASE WHEN json_extract_string(e, '$.extension[0].url') = 'ombCategory'
                THEN json_extract_string(e, '$.extension[0].valueCoding.code') END END) AS ethnicity_code,
        max(CASE WHEN url = 'http://hl7.org/fhir/us/core/StructureDefinition/us-core-ethnicity' THEN
            coalesce(
                CASE WHEN json_extract_string(e, '$.extension[1].url') = 'text'
                    THEN json_extract_string(e, '$.extension[1].valueString') END,
                CASE WHEN json_extract_string(e, '$.extension[0].url') = 'text'
                    THEN json_extract_string(e, '$.extension[0].valueString') END) END) AS ethnicity_text,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:healthcare-expenses'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS expenses_raw,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:healthcare-coverage'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS coverage_raw
    FROM extensions
    GROUP BY id
),
geolocated AS (
    SELECT
        raw.*,
        CASE WHEN json_extract_string(r, '$.address[0].extension[0].url') = 'http://hl7.org/fhir/StructureDefinition/geolocation'
            THEN json_extract(r, '$.address[0].extension[0]')
            WHEN json_extract_string(r, '$.address[0].extension[1].url') = 'http://hl7.org/fhir/StructureDefinition/geolocation'
            THEN json_extract(r, '$.address[0].extension[1]') END AS geo
    FROM raw
),
typed AS (
    SELECT
        g.id,
        g.source_file,
        g.source_line,
        {{ text(json_extract_string(g.r, '$.name[0].given[0]')) }} AS first_name,
        {{ text(json_extract_string(g.r, '$.name[0].family')) }} AS last_name,
        {{ date(g.birth_raw) }} AS birth_date,
        {{ date(g.death_raw) }} AS death_date,
        coalesce(json_extract_string(g.r, '$.gender'), 'unknown') AS gender,
        coalesce(CASE p.race_code
            WHEN '2106-3' THEN 'white' WHEN '2054-5' THEN 'black' WHEN '2028-9' THEN 'asian'
            WHEN '1002-5' THEN 'native' WHEN '2076-8' THEN 'hawaiian' END, lower(p.race_text)) AS race,
        coalesce(CASE p.ethnicity_code
            WHEN '2135-2' THEN 'hispanic' WHEN '2186-5' THEN 'nonhispanic' END,
            lower(p.ethnicity_text)) AS ethnicity,
        upper(coalesce(json_extract_string(g.r, '$.maritalStatus.coding[0].code'),
            json_extract_string(g.r, '$.maritalStatus.text'))) AS marital_status,
        {{ text(json_extract_string(g.r, '$.address[0].line[0]')) }} AS address,
        {{ text(json_extract_string(g.r, '$.address[0].city')) }} AS city,
        {{ state_usps(g.state_raw) }} AS state_usps,
        {{ text(g.state_raw) }} AS state_raw,
        {{ text(json_extract_string(g.r, '$.address[0].district')) }} AS county_name,
        {{ zip5(g.postal_raw) }} AS zip_code,
        {{ zip4(g.postal_raw) }} AS zip_plus4,
        CAST(coalesce(
            CASE WHEN json_extract_string(g.geo, '$.extension[0].url') = 'latitude' THEN json_extract_string(g.geo, '$.extension[0].valueDecimal') END,
            CASE WHEN json_extract_string(g.geo, '$.extension[1].url') = 'latitude' THEN json_extract_string(g.geo, '$.extension[1].valueDecimal') END
        ) AS DOUBLE) AS latitude,
        CAST(coalesce(
            CASE WHEN json_extract_string(g.geo, '$.extension[0].url') = 'longitude' THEN json_extract_string(g.geo, '$.extension[0].valueDecimal') END,
            CASE WHEN json_extract_string(g.geo, '$.extension[1].url') = 'longitude' THEN json_extract_string(g.geo, '$.extension[1].valueDecimal') END
        ) AS DOUBLE) AS longitude,
        CAST(p.expenses_raw AS DECIMAL(18, 2)) AS healthcare_expenses,
        CAST(p.coverage_raw AS DECIMAL(18, 2)) AS healthcare_coverage
    FROM geolocated AS g
    LEFT JOIN pivoted AS p ON p.id = g.id
),
counties AS (
    SELECT
        county_fips,
        state_usps,
        regexp_replace(lower(trim(county_name)), ' county$', '', 'g') AS county_key
    FROM reference.ref_geography
)
SELECT
    lower(t.id) AS patient_id,
    regexp_extract(replace(t.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    t.first_name,
    t.last_name,
    t.birth_date,
    t.death_date,
    t.gender,
    t.race,
    t.ethnicity,
    t.marital_status,
    t.address,
    t.city,
    t.state_usps,
    t.state_raw,
    t.county_name,
    c.county_fips,
    t.zip_code,
    t.zip_plus4,
    t.latitude,
    t.longitude,
    t.healthcare_expenses,
    t.healthcare_coverage,
    t.source_file,
    CAST(t.source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM typed AS t
LEFT JOIN counties AS c
    ON c.state_usps = t.state_usps
    AND c.county_key = regexp_replace(lower(t.county_name), ' county$', '', 'g')
