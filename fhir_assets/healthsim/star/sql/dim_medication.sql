-- One row per medication code (RxNorm) ordered in encounters.
SELECT
    CAST(row_number() OVER (ORDER BY code) AS INTEGER) AS medication_key,
    code AS medication_code,
    'RxNorm' AS code_system,
    description
FROM (SELECT code, max(description) AS description FROM healthsim.medications GROUP BY code) AS codes
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'Unknown'
