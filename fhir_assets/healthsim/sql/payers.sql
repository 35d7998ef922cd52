-- Canonical payers (Medicare, Medicaid, commercial plans, no insurance) of encounters and
-- claims, with their headquarters.
WITH src AS (
    SELECT
        regexp_extract(replace(source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        source_file,
        lower(trim(Id)) AS payer_id,
        *
    FROM landing_payers
),
typed AS (
    SELECT
        payer_id,
        source,
        nullif(trim(NAME), '') AS name,
        nullif(trim(ADDRESS), '') AS address,
        nullif(trim(CITY), '') AS city,
        {{ state_usps(STATE_HEADQUARTERED) }} AS state_usps,
        {{ zip5(ZIP) }} AS zip_code,
        nullif(trim(PHONE), '') AS phone,
        source_file, source_row,
        {{ field_issues(ZIP zip) }} AS field_issues,
        row_number() OVER (PARTITION BY payer_id ORDER BY source_file) AS copy_number
    FROM src
)
SELECT
    * EXCLUDE (copy_number),
    CASE
        WHEN payer_id IS NULL OR NOT regexp_matches(payer_id, '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$')
            THEN 'Id is not a UUID'
        WHEN copy_number > 1 THEN 'duplicate payer Id'
        WHEN name IS NULL THEN 'NAME is empty'
    END AS reject_reason
FROM typed
