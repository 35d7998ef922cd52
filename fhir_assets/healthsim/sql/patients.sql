-- Canonical patients from Synthea-layout patients.csv (Synthea export or HealthSim generator).
-- Synthea quirks handled here: STATE is a full name, COUNTY a name without FIPS (resolved
-- through reference.ref_geography by state + county name), ZIP may be empty.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(Id)) AS patient_id,
        *
    FROM landing_patients
),
states AS (
    SELECT DISTINCT state_usps, lower(state_name) AS state_key
    FROM reference.ref_geography
),
counties AS (
    SELECT
        county_fips,
        county_name,
        state_usps,
        regexp_replace(lower(trim(county_name)), ' county$', '') AS county_key
    FROM reference.ref_geography
),
typed AS (
    SELECT
        s.patient_id,
        s.source,
        trim(s.FIRST) AS first_name,
        trim(s.LAST) AS last_name,
        try_cast(s.BIRTHDATE AS DATE) AS birth_date,
        try_cast(s.DEATHDATE AS DATE) AS death_date,
        CASE upper(trim(s.GENDER)) WHEN 'M' THEN 'male' WHEN 'F' THEN 'female' ELSE 'unknown' END AS gender,
        nullif(lower(trim(s.RACE)), '') AS race,
        nullif(lower(trim(s.ETHNICITY)), '') AS ethnicity,
        nullif(upper(trim(s.MARITAL)), '') AS marital_status,
        nullif(trim(s.ADDRESS), '') AS address,
        nullif(trim(s.CITY), '') AS city,
        st.state_usps,
        nullif(trim(s.STATE), '') AS state_raw,
        nullif(trim(s.COUNTY), '') AS county_name,
        c.county_fips,
        CASE WHEN trim(coalesce(s.ZIP, '')) = '' THEN NULL ELSE lpad(trim(s.ZIP), 5, '0') END AS zip_code,
        try_cast(s.LAT AS DOUBLE) AS latitude,
        try_cast(s.LON AS DOUBLE) AS longitude,
        try_cast(s.HEALTHCARE_EXPENSES AS DECIMAL(18, 2)) AS healthcare_expenses,
        try_cast(s.HEALTHCARE_COVERAGE AS DECIMAL(18, 2)) AS healthcare_coverage,
        s.source_file,
        s.BIRTHDATE AS birth_date_raw,
        row_number() OVER (PARTITION BY s.patient_id ORDER BY s.source_file) AS copy_number
    FROM src AS s
    LEFT JOIN states AS st
        ON lower(trim(s.STATE)) = st.state_key OR upper(trim(s.STATE)) = st.state_usps
    LEFT JOIN counties AS c
        ON c.state_usps = st.state_usps
        AND c.county_key = regexp_replace(lower(trim(s.COUNTY)), ' county$', '')
)
SELECT
    * EXCLUDE (birth_date_raw, copy_number),
    CASE
        WHEN patient_id IS NULL OR NOT regexp_matches(patient_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate patient Id'
        WHEN birth_date IS NULL THEN 'BIRTHDATE is not a date: ' || coalesce(birth_date_raw, '(empty)')
    END AS reject_reason
FROM typed
