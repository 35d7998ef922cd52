-- One row per procedure code (SNOMED CT) performed in encounters.
SELECT
    CAST(row_number() OVER (ORDER BY code) AS INTEGER) AS procedure_key,
    code AS procedure_code,
    'SNOMED CT' AS code_system,
    description
FROM (SELECT code, max(description) AS description FROM healthsim.procedures GROUP BY code) AS codes
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'Unknown'
