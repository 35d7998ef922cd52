-- One row per diagnosis code (SNOMED CT) seen in conditions or on claims.
WITH codes AS (
    SELECT code, max(description) AS description
    FROM healthsim.conditions
    GROUP BY code
    UNION ALL
    SELECT DISTINCT primary_diagnosis_code, CAST(NULL AS VARCHAR)
    FROM healthsim.claims
    WHERE primary_diagnosis_code IS NOT NULL
        AND primary_diagnosis_code NOT IN (SELECT code FROM healthsim.conditions)
    UNION ALL
    SELECT DISTINCT reason_code, max(reason_description)
    FROM healthsim.encounters
    WHERE reason_code IS NOT NULL
        AND reason_code NOT IN (SELECT code FROM healthsim.conditions)
        AND reason_code NOT IN (SELECT primary_diagnosis_code FROM healthsim.claims WHERE primary_diagnosis_code IS NOT NULL)
    GROUP BY reason_code
)
SELECT
    CAST(row_number() OVER (ORDER BY code) AS INTEGER) AS diagnosis_key,
    code AS diagnosis_code,
    'SNOMED CT' AS code_system,
    coalesce(description, 'SNOMED CT ' || code) AS description
FROM codes
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR), 'Unknown'
