-- Canonical patients: the shared Synthea patient typing (synthea_patients, built by
-- fhir_assets/sql/synthea_patients.sql, the same view fhir/patient_data reads) plus the home
-- county's 5-digit FIPS code through reference.ref_geography (Synthea gives county names only).
WITH counties AS (
    SELECT
        county_fips,
        state_usps,
        regexp_replace(lower(trim(county_name)), ' county$', '', 'g') AS county_key
    FROM reference.ref_geography
)
SELECT
    p.patient_id,
    regexp_extract(replace(p.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    p.first_name,
    p.last_name,
    p.birth_date,
    p.death_date,
    coalesce(p.gender, 'unknown') AS gender,
    p.race,
    p.ethnicity,
    p.marital_status,
    p.address,
    p.city,
    p.state_usps,
    p.state_raw,
    p.county_name,
    c.county_fips,
    p.zip_code,
    p.zip_plus4,
    p.latitude,
    p.longitude,
    p.healthcare_expenses,
    p.healthcare_coverage,
    p.source_file,
    p.source_row,
    p.field_issues,
    CASE WHEN p.reject_reason IS NOT NULL
        THEN p.reject_reason || coalesce(': ' || p.reject_detail, '') END AS reject_reason
FROM synthea_patients AS p
LEFT JOIN counties AS c
    ON c.state_usps = p.state_usps
    AND c.county_key = regexp_replace(lower(p.county_name), ' county$', '', 'g')
