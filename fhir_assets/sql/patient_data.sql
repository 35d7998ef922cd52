-- patient_data: every landed patient row, typed, with its verdict (reject_reason NULL = mapped).
--
-- Reads the temp views `patient_landing_raw` (all text, one select per landing file; Synthea
-- rows already typed by fhir_assets/sql/synthea_patients.sql) and `patient_landing_malformed`
-- (CSV rows with too few or too many fields, with their line).
-- Dates, ZIPs and states follow the shared rules of resources/normalize.py (`{{ rule(x) }}`
-- placeholders): ISO 8601, M/D/YYYY, MM/DD/YYYY, YYYYMMDD; ZIPs regain leading zeros, 0/00000
-- and text become NULL with zip_issue; ZIP+4 is kept as 12345-6789.
-- Rejections, first rule that applies: missing_patient_id, invalid_patient_id (not a FHIR id,
-- [A-Za-z0-9.-]{1,64}), unparsable_birth_date (given but not a date, e.g. 1980-13-01),
-- future_birth_date, implausible_birth_date (before 1850), unparsable_deceased_date,
-- invalid_synthea_record (the Synthea reader's verdict: not a UUID, death before birth),
-- malformed_row (the CSV row could not be split into the header's fields).
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
        -- USPS code from a code or a full name; an unknown state is kept upper-cased.
        coalesce({{ state_usps(state) }}, upper(nullif(trim(state), ''))) AS state,
        nullif(trim(postal_code), '') AS postal_code_raw,
        nullif(trim(phone), '') AS phone,
        nullif(trim(email), '') AS email,
        nullif(trim(race), '') AS race,
        nullif(trim(ethnicity), '') AS ethnicity,
        upstream_reject,
        field_issues
    FROM patient_landing_raw
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
        {{ date(birth_date_raw) }} AS birth_date,
        {{ date(deceased_date_raw) }} AS deceased_date,
        {{ postal_code(postal_code_raw) }} AS postal_code,
        {{ zip5(postal_code_raw) }} AS zip5,
        {{ zip_issue(postal_code_raw) }} AS zip_issue
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
            WHEN upstream_reject IS NOT NULL THEN 'invalid_synthea_record'
        END AS invalid_reason,
        {{ zip_state_issue(zip5, state) }} AS zip_state_issue
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
    postal_code_raw,
    zip_issue,
    zip_state_issue,
    coalesce(field_issues, nullif(concat_ws('; ',
        'postal_code ' || zip_issue || ' [' || postal_code_raw || ']',
        'postal_code ' || zip_state_issue || ' ' || state || ' [' || postal_code_raw || ']'), ''))
        AS field_issues,
    CASE
        WHEN invalid_reason IS NOT NULL THEN invalid_reason
        WHEN version_rank > 1 THEN 'duplicate_patient_id'
    END AS reject_reason,
    CASE
        WHEN invalid_reason IN ('unparsable_birth_date', 'future_birth_date', 'implausible_birth_date')
            THEN 'birth_date ' || birth_date_raw
        WHEN invalid_reason = 'unparsable_deceased_date' THEN 'deceased_date ' || deceased_date_raw
        WHEN invalid_reason = 'invalid_patient_id' THEN 'patient_id ' || patient_id
        WHEN invalid_reason = 'invalid_synthea_record' THEN upstream_reject
        WHEN invalid_reason IS NULL AND version_rank > 1
            THEN 'superseded by ' || latest_file || ' row ' || CAST(latest_row AS VARCHAR)
    END AS reject_detail
FROM versioned

UNION ALL

-- Malformed CSV rows: no field can be trusted; the line, the error and the raw record are kept.
SELECT
    source_file,
    source_format,
    source_kind,
    file_rank,
    source_line AS source_row,
    CAST(NULL AS VARCHAR) AS patient_id,
    CAST(NULL AS VARCHAR) AS identifier_system,
    CAST(NULL AS VARCHAR) AS name_prefix,
    CAST(NULL AS VARCHAR) AS given_name,
    CAST(NULL AS VARCHAR) AS family_name,
    CAST(NULL AS VARCHAR) AS name_suffix,
    CAST(NULL AS VARCHAR) AS gender_raw,
    CAST(NULL AS VARCHAR) AS gender,
    CAST(NULL AS VARCHAR) AS birth_date_raw,
    CAST(NULL AS DATE) AS birth_date,
    CAST(NULL AS DATE) AS deceased_date,
    CAST(NULL AS VARCHAR) AS address_line,
    CAST(NULL AS VARCHAR) AS city,
    CAST(NULL AS VARCHAR) AS state,
    CAST(NULL AS VARCHAR) AS postal_code,
    CAST(NULL AS VARCHAR) AS country,
    CAST(NULL AS VARCHAR) AS phone,
    CAST(NULL AS VARCHAR) AS email,
    CAST(NULL AS VARCHAR) AS race,
    CAST(NULL AS VARCHAR) AS ethnicity,
    CAST(NULL AS VARCHAR) AS postal_code_raw,
    CAST(NULL AS VARCHAR) AS zip_issue,
    CAST(NULL AS VARCHAR) AS zip_state_issue,
    CAST(NULL AS VARCHAR) AS field_issues,
    'malformed_row' AS reject_reason,
    'line ' || coalesce(CAST(source_line AS VARCHAR), '?') || ': ' || error
        || ' [' || coalesce(raw_record, '') || ']'
        AS reject_detail
FROM patient_landing_malformed
