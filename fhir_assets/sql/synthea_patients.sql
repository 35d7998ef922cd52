-- synthea_patients: THE typing of Synthea patients.csv, read by fhir/patient_data AND
-- healthsim/patients (one reader: a patient has the same id, dates, ZIP and address in both).
--
-- Reads the all-text view `landing_patients` (fhir_assets/synthea.py). `{{ rule(column) }}` placeholders are
-- the shared normalization rules of resources/normalize.py, expanded before the SQL runs.
-- A row is quarantined (reject_reason) when its Id is not a UUID or repeats, or a present
-- BIRTHDATE/DEATHDATE is not a date in an accepted form, impossible, in the future, before
-- 1850, or a death precedes the birth. Values that are unusable but not essential (ZIP,
-- state, coordinates, amounts) become NULL and their column, reason and raw value are
-- recorded in field_issues ("ZIP zero ZIP [0]; LAT not a number [42,3x]").
WITH typed AS (
    SELECT
        source_file,
        source_row,
        lower({{ text(Id) }}) AS patient_id,
        {{ text(Id) }} AS id_raw,
        {{ text(PREFIX) }} AS name_prefix,
        {{ text(FIRST) }} AS first_name,
        {{ text(LAST) }} AS last_name,
        {{ text(SUFFIX) }} AS name_suffix,
        {{ text(MAIDEN) }} AS maiden_name,
        upper({{ text(MARITAL) }}) AS marital_status,
        CASE lower({{ text(GENDER) }})
            WHEN 'm' THEN 'male' WHEN 'male' THEN 'male'
            WHEN 'f' THEN 'female' WHEN 'female' THEN 'female'
        END AS gender,
        {{ text(GENDER) }} AS gender_raw,
        {{ date(BIRTHDATE) }} AS birth_date,
        {{ text(BIRTHDATE) }} AS birth_date_raw,
        {{ date_issue(BIRTHDATE) }} AS birth_date_issue,
        {{ date(DEATHDATE) }} AS death_date,
        {{ text(DEATHDATE) }} AS death_date_raw,
        {{ date_issue(DEATHDATE) }} AS death_date_issue,
        lower({{ text(RACE) }}) AS race,
        lower({{ text(ETHNICITY) }}) AS ethnicity,
        {{ text(ADDRESS) }} AS address,
        {{ text(CITY) }} AS city,
        {{ state_usps(STATE) }} AS state_usps,
        {{ text(STATE) }} AS state_raw,
        {{ state_issue(STATE) }} AS state_issue,
        {{ text(COUNTY) }} AS county_name,
        {{ zip5(ZIP) }} AS zip_code,
        {{ zip4(ZIP) }} AS zip_plus4,
        {{ postal_code(ZIP) }} AS postal_code,
        {{ text(ZIP) }} AS zip_raw,
        {{ zip_issue(ZIP) }} AS zip_issue,
        {{ number(LAT) }} AS latitude,
        {{ number_issue(LAT) }} AS lat_issue,
        {{ text(LAT) }} AS lat_raw,
        {{ number(LON) }} AS longitude,
        {{ number_issue(LON) }} AS lon_issue,
        {{ text(LON) }} AS lon_raw,
        {{ number(HEALTHCARE_EXPENSES, DECIMAL(18, 2)) }} AS healthcare_expenses,
        {{ number_issue(HEALTHCARE_EXPENSES, DECIMAL(18, 2)) }} AS expenses_issue,
        {{ text(HEALTHCARE_EXPENSES) }} AS expenses_raw,
        {{ number(HEALTHCARE_COVERAGE, DECIMAL(18, 2)) }} AS healthcare_coverage,
        {{ number_issue(HEALTHCARE_COVERAGE, DECIMAL(18, 2)) }} AS coverage_issue,
        {{ text(HEALTHCARE_COVERAGE) }} AS coverage_raw
    FROM landing_patients
),

flagged AS (
    SELECT
        *,
        {{ zip_state_issue(zip_code, state_usps) }} AS zip_state_issue,
        {{ coordinate_issue(latitude, longitude, state_usps) }} AS coordinate_issue,
        row_number() OVER (PARTITION BY patient_id ORDER BY source_file, source_row) AS copy_number
    FROM typed
)

SELECT
    source_file,
    source_row,
    patient_id,
    name_prefix,
    first_name,
    last_name,
    name_suffix,
    maiden_name,
    marital_status,
    gender,
    birth_date,
    death_date,
    race,
    ethnicity,
    address,
    city,
    state_usps,
    state_raw,
    county_name,
    zip_code,
    zip_plus4,
    postal_code,
    zip_raw,
    zip_issue,
    zip_state_issue,
    latitude,
    longitude,
    coordinate_issue,
    healthcare_expenses,
    healthcare_coverage,
    birth_date_raw,
    death_date_raw,
    nullif(concat_ws('; ',
        CASE WHEN gender IS NULL THEN 'GENDER unknown [' || coalesce(gender_raw, '') || ']' END,
        CASE WHEN state_issue IS NOT NULL THEN 'STATE ' || state_issue || ' [' || state_raw || ']' END,
        CASE WHEN zip_issue IS NOT NULL THEN 'ZIP ' || zip_issue || ' [' || zip_raw || ']' END,
        CASE WHEN zip_state_issue IS NOT NULL
            THEN 'ZIP ' || zip_state_issue || ' ' || state_usps || ' [' || zip_raw || ']' END,
        CASE WHEN lat_issue IS NOT NULL THEN 'LAT ' || lat_issue || ' [' || lat_raw || ']' END,
        CASE WHEN lon_issue IS NOT NULL THEN 'LON ' || lon_issue || ' [' || lon_raw || ']' END,
        CASE WHEN coordinate_issue IS NOT NULL THEN 'LAT/LON ' || coordinate_issue || ' '
            || coalesce(state_usps, '') || ' [' || lat_raw || ', ' || lon_raw || ']' END,
        CASE WHEN expenses_issue IS NOT NULL
            THEN 'HEALTHCARE_EXPENSES ' || expenses_issue || ' [' || expenses_raw || ']' END,
        CASE WHEN coverage_issue IS NOT NULL
            THEN 'HEALTHCARE_COVERAGE ' || coverage_issue || ' [' || coverage_raw || ']' END
    ), '') AS field_issues,
    CASE
        WHEN patient_id IS NULL OR NOT regexp_matches(patient_id,
            '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate patient Id'
        WHEN birth_date_raw IS NULL THEN 'BIRTHDATE is empty'
        WHEN birth_date_issue IS NOT NULL THEN 'BIRTHDATE ' || birth_date_issue
        WHEN birth_date > current_date THEN 'BIRTHDATE in the future'
        WHEN birth_date < DATE '1850-01-01' THEN 'BIRTHDATE before 1850'
        WHEN death_date_issue IS NOT NULL THEN 'DEATHDATE ' || death_date_issue
        WHEN death_date < birth_date THEN 'DEATHDATE before BIRTHDATE'
    END AS reject_reason,
    CASE
        WHEN patient_id IS NULL OR NOT regexp_matches(patient_id,
            '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id ' || coalesce(id_raw, '(empty)')
        WHEN copy_number > 1 THEN 'Id ' || patient_id
        WHEN birth_date_issue IS NOT NULL OR birth_date > current_date
            OR birth_date < DATE '1850-01-01' THEN 'BIRTHDATE ' || birth_date_raw
        WHEN death_date_issue IS NOT NULL OR death_date < birth_date
            THEN 'DEATHDATE ' || death_date_raw
    END AS reject_detail
FROM flagged
