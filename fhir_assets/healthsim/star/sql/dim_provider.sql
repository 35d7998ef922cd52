-- One row per clinician (provider) of the encounters, with speciality and the care
-- organization they work at; -1 is the unknown provider.
SELECT
    CAST(row_number() OVER (ORDER BY provider_id) AS INTEGER) AS provider_key,
    provider_id,
    name AS provider_name,
    gender,
    speciality,
    organization_id,
    state_usps
FROM healthsim.providers
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), 'Unknown', CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR),
    CAST(NULL AS VARCHAR), CAST(NULL AS VARCHAR)
