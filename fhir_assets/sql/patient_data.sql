-- patient_data: every landed patient row, typed, with its verdict (reject_reason NULL = mapped).
--
-- Reads the temp views `patient_landing_raw` (all text, one select per landing file) and
-- `us_state_names` (lower-case state name -> USPS code).
-- Birth dates are accepted as YYYY-MM-DD (optionally with a time), MM/DD/YYYY and YYYYMMDD.
-- Rejections, first rule that applies: missing_patient_id, invalid_patient_id (not a FHIR id,
-- [A-Za-z0-9.-]{1,64}), unparsable_birth_date (given but not a date, e.g. 1980-13-01),
-- future_birth_date, implausible_birth_date (before 1850), unparsable_deceased_date.
-- Duplicates: among valid rows with the same patient_id, the row of the latest landed file
-- (highest file_rank; then the last row of that file) wins; the others are rejected as
-- duplicate_patient_id, naming the winner.

WITH cleaned AS (
    SELECT
        source_file,
        source_format,
        source_kind,
        file_rank,
        source_row,
        identifier_system,
        nullif(trim(patient_id), '') AS patient_id,
        nullif(trim(name_prefix), '') AS name_prefix,
        nullif(trim(first_name), '') AS given_name,
        nullif(trim(last_name), '') AS family_name,
        nullif(trim(name_suffix), '') AS name_suffix,
        nullif(trim(gender), '') AS gender_raw,
        nullif(trim(birth_date), '') AS birth_date_raw,
        nullif(trim(deceased_date), '') AS deceased_date_raw,
        nullif(trim(address), '') AS address_line,
        nullif(trim(city), '') AS city,
        -- USPS code: full state names (Synthea) through us_state_names, codes upper-cased.
        coalesce(states.usps, upper(nullif(trim(state), ''))) AS state,
        nullif(trim(postal_code), '') AS postal_code,
        nullif(trim(phone), '') AS phone,
        nullif(trim(email), '') AS email,
        nullif(trim(race), '') AS race,
        nullif(trim(ethnicity), '') AS ethnicity
    FROM patient_landing_raw
    LEFT JOIN us_state_names AS states ON lower(trim(patient_landing_raw.state)) = states.state_name
),

parsed AS (
    SELECT
        *,
        CASE lower(gender_raw)
            WHEN 'm' THEN 'male' WHEN 'male' THEN 'male'
            WHEN 'f' THEN 'female' WHEN 'female' THEN 'female'
            WHEN 'o' THEN 'other' WHEN 'other' THEN 'other'
            WHEN 'u' THEN 'unknown' WHEN 'unknown' THEN 'unknown' WHEN 'unk' THEN 'unknown'
        END AS gender,
        CASE
            WHEN regexp_matches(birth_date_raw, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ].*)?$')
                THEN try_cast(regexp_extract(birth_date_raw, '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})', 1) AS DATE)
            WHEN regexp_matches(birth_date_raw, '^[0-9]{1,2}/[0-9]{1,2}/[0-9]{4}$')
                THEN try_cast(
                    regexp_extract(birth_date_raw, '^([0-9]+)/([0-9]+)/([0-9]+)$', 3) || '-'
                    || regexp_extract(birth_date_raw, '^([0-9]+)/([0-9]+)/([0-9]+)$', 1) || '-'
                    || regexp_extract(birth_date_raw, '^([0-9]+)/([0-9]+)/([0-9]+)$', 2) AS DATE)
            WHEN regexp_matches(birth_date_raw, '^[0-9]{8}$')
                THEN try_cast(
                    substr(birth_date_raw, 1, 4) || '-' || substr(birth_date_raw, 5, 2) || '-'
                    || substr(birth_date_raw, 7, 2) AS DATE)
        END AS birth_date,
        CASE
            WHEN regexp_matches(deceased_date_raw, '^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}([T ].*)?$')
                THEN try_cast(regexp_extract(deceased_date_raw, '^([0-9]{4}-[0-9]{1,2}-[0-9]{1,2})', 1) AS DATE)
        END AS deceased_date
    FROM cleaned
),

checked AS (
    SELECT
        *,
        CASE
            WHEN patient_id IS NULL THEN 'missing_patient_id'
            WHEN NOT regexp_matches(patient_id, '^[A-Za-z0-9.-]{1,64}$') THEN 'invalid_patient_id'
            WHEN birth_date_raw IS NOT NULL AND birth_date IS NULL THEN 'unparsable_birth_date'
            WHEN birth_date > current_date THEN 'future_birth_date'
            WHEN birth_date < DATE '1850-01-01' THEN 'implausible_birth_date'
            WHEN deceased_date_raw IS NOT NULL AND deceased_date IS NULL THEN 'unparsable_deceased_date'
        END AS invalid_reason
    FROM parsed
),

versioned AS (
    SELECT
        *,
        row_number() OVER latest AS version_rank,
        first_value(source_file) OVER latest AS latest_file,
        first_value(source_row) OVER latest AS latest_row
    FROM checked
    WINDOW latest AS (
        PARTITION BY patient_id, invalid_reason IS NULL ORDER BY file_rank DESC, source_row DESC
    )
)

SELECT
    source_file,
    source_format,
    source_kind,
    file_rank,
    source_row,
    patient_id,
    identifier_system,
    name_prefix,
    given_name,
    family_name,
    name_suffix,
    gender_raw,
    gender,
    birth_date_raw,
    birth_date,
    deceased_date,
    address_line,
    city,
    state,
    postal_code,
    CASE WHEN address_line IS NOT NULL OR city IS NOT NULL OR state IS NOT NULL
        OR postal_code IS NOT NULL THEN 'US' END AS country,
    phone,
    email,
    race,
    ethnicity,
    CASE
        WHEN invalid_reason IS NOT NULL THEN invalid_reason
        WHEN version_rank > 1 THEN 'duplicate_patient_id'
    END AS reject_reason,
    CASE
        WHEN invalid_reason IN ('unparsable_birth_date', 'future_birth_date', 'implausible_birth_date')
            THEN 'birth_date ' || birth_date_raw
        WHEN invalid_reason = 'unparsable_deceased_date' THEN 'deceased_date ' || deceased_date_raw
        WHEN invalid_reason = 'invalid_patient_id' THEN 'patient_id ' || patient_id
        WHEN invalid_reason IS NULL AND version_rank > 1
            THEN 'superseded by ' || latest_file || ' row ' || CAST(latest_row AS VARCHAR)
    END AS reject_detail
FROM versioned
