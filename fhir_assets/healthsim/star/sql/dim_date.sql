-- One row per calendar day from the earliest to the latest date any fact refers to.
-- date_key = YYYYMMDD; -1 is the unknown date.
WITH dates AS (
    SELECT CAST(start_at AS DATE) AS d FROM healthsim.encounters
    UNION ALL SELECT CAST(stop_at AS DATE) FROM healthsim.encounters
    UNION ALL SELECT onset_date FROM healthsim.conditions
    UNION ALL SELECT resolved_date FROM healthsim.conditions
    UNION ALL SELECT CAST(service_at AS DATE) FROM healthsim.claims
    UNION ALL SELECT CAST(start_at AS DATE) FROM healthsim.procedures
    UNION ALL SELECT CAST(start_at AS DATE) FROM healthsim.medications
    UNION ALL SELECT CAST(observed_at AS DATE) FROM healthsim.observations
),
bounds AS (
    SELECT coalesce(min(d), DATE '2000-01-01') AS first_day, coalesce(max(d), DATE '2000-01-01') AS last_day
    FROM dates
),
days AS (
    SELECT CAST(day AS DATE) AS full_date
    FROM (SELECT unnest(generate_series(first_day, last_day, INTERVAL 1 DAY)) AS day FROM bounds) AS series
)
SELECT
    CAST(strftime(full_date, '%Y%m%d') AS INTEGER) AS date_key,
    full_date,
    CAST(year(full_date) AS INTEGER) AS year,
    CAST(quarter(full_date) AS INTEGER) AS quarter,
    CAST(month(full_date) AS INTEGER) AS month,
    strftime(full_date, '%B') AS month_name,
    CAST(day(full_date) AS INTEGER) AS day_of_month,
    CAST(isodow(full_date) AS INTEGER) AS iso_day_of_week,
    strftime(full_date, '%A') AS day_name,
    isodow(full_date) >= 6 AS is_weekend
FROM days
UNION ALL
SELECT -1, CAST(NULL AS DATE), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), CAST(NULL AS INTEGER),
    'Unknown', CAST(NULL AS INTEGER), CAST(NULL AS INTEGER), 'Unknown', CAST(NULL AS BOOLEAN)
