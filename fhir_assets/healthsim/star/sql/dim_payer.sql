-- One row per payer (Medicare, Medicaid, commercial plans, no insurance); -1 is the
-- unknown payer.
SELECT
    CAST(row_number() OVER (ORDER BY payer_id) AS INTEGER) AS payer_key,
    payer_id,
    name AS payer_name,
    state_usps
FROM healthsim.payers
UNION ALL
SELECT -1, CAST(NULL AS VARCHAR), 'Unknown', CAST(NULL AS VARCHAR)
