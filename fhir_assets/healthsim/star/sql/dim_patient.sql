-- One row per canonical patient: sex, age and age band (at death, or at the latest date in
-- the data), and the home county's geography key (-1 when the county is unknown).
WITH as_of AS (
    SELECT coalesce(CAST(max(coalesce(stop_at, start_at)) AS DATE), DATE '2000-01-01') AS as_of_date
    FROM healthsim.encounters
),
aged AS (
    SELECT
        p.*,
        CAST(floor(date_diff('day', p.birth_date, coalesce(p.death_date, a.as_of_date)) / 365.25) AS INTEGER) AS age
    FROM healthsim.patients AS p
    CROSS JOIN as_of AS a
)
SELECT
    CAST(row_number() OVER (ORDER BY p.patient_id) AS INTEGER) AS patient_key,
    p.patient_id,
    p.source,
    p.gender AS sex,
    p.birth_date,
    p.death_date,
    p.death_date IS NOT NULL AS is_deceased,
    p.age,
    CASE
        WHEN p.age IS NULL THEN 'Unknown'
        WHEN p.age < 18 THEN '0-17'
        WHEN p.age < 35 THEN '18-34'
        WHEN p.age < 50 THEN '35-49'
        WHEN p.age < 65 THEN '50-64'
        ELSE '65+'
    END AS age_band,
    p.race,
    p.ethnicity,
    p.county_fips,
    coalesce(g.geography_key, -1) AS geography_key
FROM aged AS p
LEFT JOIN analytics.dim_geography AS g ON g.county_fips = p.county_fips
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'unknown', CAST(NULL AS DATE),
    CAST(NULL AS DATE), CAST(NULL AS BOOLEAN), CAST(NULL AS INTEGER), 'Unknown',
    CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), -1
