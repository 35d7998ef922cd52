-- Canonical care organizations (the facilities encounters happen at), with coordinates.
-- Unusable ZIPs and coordinates are NULL with the reason in field_issues; a ZIP outside the
-- state, or coordinates outside it, are flagged there and kept.
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
        {{ state_usps(STATE) }} AS state_usps,
        {{ zip5(ZIP) }} AS zip_code,
        {{ number(LAT) }} AS latitude,
        {{ number(LON) }} AS longitude,
        {{ field_issues(ZIP zip, LAT number, LON number) }} AS field_issues_raw,
        source_file, source_row,
        row_number() OVER (PARTITION BY organization_id ORDER BY source_file) AS copy_number
    FROM src
)
SELECT
    * EXCLUDE (copy_number, field_issues_raw),
    nullif(concat_ws('; ', field_issues_raw,
        'ZIP ' || {{ zip_state_issue(zip_code, state_usps) }} || ' ' || state_usps,
        'LAT/LON ' || {{ coordinate_issue(latitude, longitude, state_usps) }}), '') AS field_issues,
    CASE
        WHEN organization_id IS NULL OR NOT regexp_matches(organization_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate organization Id'
        WHEN name IS NULL OR name = '' THEN 'NAME is empty'
    END AS reject_reason
FROM typed
