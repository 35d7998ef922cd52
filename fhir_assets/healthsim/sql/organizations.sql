-- Canonical care organizations (the facilities encounters happen at), with coordinates.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(Id)) AS organization_id,
        *
    FROM landing_organizations
),
typed AS (
    SELECT
        organization_id,
        source,
        trim(NAME) AS name,
        nullif(trim(ADDRESS), '') AS address,
        nullif(trim(CITY), '') AS city,
        upper(trim(STATE)) AS state_usps,
        CASE WHEN trim(coalesce(ZIP, '')) = '' THEN NULL ELSE lpad(trim(ZIP), 5, '0') END AS zip_code,
        try_cast(LAT AS DOUBLE) AS latitude,
        try_cast(LON AS DOUBLE) AS longitude,
        source_file,
        row_number() OVER (PARTITION BY organization_id ORDER BY source_file) AS copy_number
    FROM src
)
SELECT
    * EXCLUDE (copy_number),
    CASE
        WHEN organization_id IS NULL OR NOT regexp_matches(organization_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate organization Id'
        WHEN name IS NULL OR name = '' THEN 'NAME is empty'
    END AS reject_reason
FROM typed
