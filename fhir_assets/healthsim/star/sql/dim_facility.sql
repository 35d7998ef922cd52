-- One row per care organization of the encounters. Where a recovery-services directory
-- organization lies within 250 m of it (bounding box, then haversine distance), the
-- nearest one is attached (directory_org_id, name, distance). `facility_directory` is a
-- temporary view of directory.organizations (empty when the directory is not loaded).
WITH candidates AS (
    SELECT
        f.organization_id,
        d.org_id,
        d.name AS directory_name,
        2 * 6371.0 * asin(sqrt(
            power(sin(radians(d.latitude - f.latitude) / 2), 2)
            + cos(radians(f.latitude)) * cos(radians(d.latitude))
              * power(sin(radians(d.longitude - f.longitude) / 2), 2)
        )) AS distance_km
    FROM healthsim.organizations AS f
    JOIN facility_directory AS d
        ON d.latitude BETWEEN f.latitude - 0.003 AND f.latitude + 0.003
        AND d.longitude BETWEEN f.longitude - 0.004 AND f.longitude + 0.004
),
nearest AS (
    SELECT *, row_number() OVER (PARTITION BY organization_id ORDER BY distance_km, org_id) AS pick
    FROM candidates
    WHERE distance_km <= 0.25
)
SELECT
    CAST(row_number() OVER (ORDER BY o.organization_id) AS INTEGER) AS facility_key,
    o.organization_id,
    o.name AS facility_name,
    o.city,
    o.state_usps,
    o.zip_code,
    o.latitude,
    o.longitude,
    n.org_id AS directory_org_id,
    n.directory_name,
    round(n.distance_km, 3) AS directory_distance_km
FROM healthsim.organizations AS o
LEFT JOIN nearest AS n ON n.organization_id = o.organization_id AND n.pick = 1
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), 'Unknown', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
    CAST(NULL AS VARCHAR), CAST(NULL AS DOUBLE), CAST(NULL AS DOUBLE), CAST(NULL AS VARCHAR),
    CAST(NULL AS VARCHAR), CAST(NULL AS DOUBLE)
