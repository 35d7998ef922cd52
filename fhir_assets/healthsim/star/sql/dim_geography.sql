-- One row per county of reference.ref_geography, with its SVI and ADI; key = the FIPS code
-- as an integer. SVI quartiles use the CDC's fixed cut points on the percentile rank.
SELECT
    CAST(county_fips AS INTEGER) AS geography_key,
    county_fips,
    county_name,
    state_fips,
    state_usps,
    state_name,
    svi_overall_rank,
    svi_rank_scope,
    CASE
        WHEN svi_overall_rank IS NULL OR svi_overall_rank < 0 THEN NULL
        WHEN svi_overall_rank < 0.25 THEN 1
        WHEN svi_overall_rank < 0.50 THEN 2
        WHEN svi_overall_rank < 0.75 THEN 3
        ELSE 4
    END AS svi_quartile,
    adi_national_rank_weighted,
    total_population
FROM reference.ref_geography
WHERE county_fips IS NOT NULL AND regexp_matches(county_fips, '^[0-9]{5}$')
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), 'Unknown', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
    CAST(NULL AS VARCHAR), CAST(NULL AS DOUBLE), CAST(NULL AS VARCHAR), CAST(NULL AS INTEGER),
    CAST(NULL AS DOUBLE), CAST(NULL AS BIGINT)
