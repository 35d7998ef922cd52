-- Canonical care providers (the practitioners of encounters and claims), each working at
-- one organization.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(Id)) AS provider_id,
        *
    FROM landing_providers
),
typed AS (
    SELECT
        provider_id,
        source,
        nullif(lower(trim(ORGANIZATION)), '') AS organization_id,
        nullif(trim(NAME), '') AS name,
        upper(nullif(trim(GENDER), '')) AS gender,
        nullif(trim(SPECIALITY), '') AS speciality,
        nullif(trim(ADDRESS), '') AS address,
        nullif(trim(CITY), '') AS city,
        {{ state_usps(STATE) }} AS state_usps,
        {{ zip5(ZIP) }} AS zip_code,
        {{ number(LAT) }} AS latitude,
        {{ number(LON) }} AS longitude,
        source_file, source_row,
        {{ field_issues(ZIP zip, LAT number, LON number) }} AS field_issues,
        row_number() OVER (PARTITION BY provider_id ORDER BY source_file) AS copy_number
    FROM src
)
SELECT
    * EXCLUDE (copy_number),
    CASE
        WHEN provider_id IS NULL OR NOT regexp_matches(provider_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate provider Id'
        WHEN name IS NULL THEN 'NAME is empty'
    END AS reject_reason
FROM typed
