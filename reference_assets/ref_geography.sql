-- One row per county: the table the other reference tables and the star schema join to.
-- Counties: the packaged county list, plus any county a source carries that the list lacks
-- (e.g. Connecticut planning regions in ACS 2022+ releases).
WITH source_counties AS (
    SELECT county_fips, max(county) AS county_name, 'svi' AS county_source
    FROM reference.ref_svi_county GROUP BY county_fips
    UNION ALL
    SELECT county_fips, max(county_name) AS county_name, 'places' AS county_source
    FROM reference.ref_places_county GROUP BY county_fips
),
counties AS (
    SELECT county_fips, county_name, state_fips, state_usps, 'county_list' AS county_source
    FROM reference.ref_us_counties
    UNION ALL
    SELECT
        county_fips,
        max(county_name) AS county_name,
        substr(county_fips, 1, 2) AS state_fips,
        CAST(NULL AS VARCHAR) AS state_usps,
        min(county_source) AS county_source
    FROM source_counties
    WHERE county_fips NOT IN (SELECT county_fips FROM reference.ref_us_counties)
    GROUP BY county_fips
),
-- A nationally ranked row wins over a state-ranked one; the two are never averaged.
svi AS (
    SELECT
        county_fips,
        rpl_themes,
        svi_rank_scope,
        e_totpop,
        row_number() OVER (
            PARTITION BY county_fips
            ORDER BY CASE svi_rank_scope WHEN 'national' THEN 0 ELSE 1 END, source_file
        ) AS pick
    FROM reference.ref_svi_county
),
tract_population AS (
    SELECT tract_fips, max(e_totpop) AS population
    FROM reference.ref_svi_tract
    GROUP BY tract_fips
),
-- A block group's weight: its tract's population shared evenly among the tract's block groups.
-- As a DECIMAL, so the sums below are exact: a parallel sum of DOUBLEs adds in a different
-- order on every run and changed the last digits of the weighted mean on identical reruns.
blockgroups AS (
    SELECT
        a.county_fips,
        a.adi_national_rank,
        CAST(
            CAST(t.population AS DOUBLE) / count(*) OVER (PARTITION BY a.tract_fips)
            AS DECIMAL(38, 9)
        ) AS weight
    FROM reference.ref_adi_blockgroup AS a
    LEFT JOIN tract_population AS t ON t.tract_fips = a.tract_fips
),
adi AS (
    SELECT
        county_fips,
        count(adi_national_rank) AS adi_ranked_blockgroups,
        sum(CASE WHEN weight > 0 AND adi_national_rank IS NOT NULL THEN weight END) AS total_weight,
        sum(CASE WHEN weight > 0 THEN adi_national_rank * weight END) AS weighted_sum,
        avg(adi_national_rank) AS unweighted_mean
    FROM blockgroups
    GROUP BY county_fips
),
places_population AS (
    SELECT county_fips, max(total_population) AS population
    FROM reference.ref_places_county
    GROUP BY county_fips
)
SELECT
    c.county_fips,
    c.county_name,
    c.state_fips,
    coalesce(c.state_usps, st.state_usps) AS state_usps,
    st.state_name,
    CAST(svi.rpl_themes AS DOUBLE) AS svi_overall_rank,
    svi.svi_rank_scope,
    CAST(
        CASE WHEN adi.total_weight > 0 THEN adi.weighted_sum / adi.total_weight
             ELSE adi.unweighted_mean END
        AS DOUBLE
    ) AS adi_national_rank_weighted,
    CASE WHEN adi.total_weight > 0 THEN 'tract_population'
         WHEN adi.adi_ranked_blockgroups > 0 THEN 'unweighted' END AS adi_weighting,
    CAST(coalesce(adi.adi_ranked_blockgroups, 0) AS BIGINT) AS adi_ranked_blockgroups,
    CAST(coalesce(svi.e_totpop, pp.population) AS BIGINT) AS total_population,
    c.county_source
FROM counties AS c
LEFT JOIN reference.ref_us_states AS st ON st.state_fips = c.state_fips
LEFT JOIN svi ON svi.county_fips = c.county_fips AND svi.pick = 1
LEFT JOIN adi ON adi.county_fips = c.county_fips
LEFT JOIN places_population AS pp ON pp.county_fips = c.county_fips
