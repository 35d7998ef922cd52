-- Each patient's latest value of each vital sign (LOINC code), from the vital_signs view.
-- Ties on the timestamp keep the smallest observation id, so the result is deterministic.
SELECT
    patient_id,
    loinc_code,
    vital_sign,
    effective,
    value,
    unit,
    observation_id,
    encounter_id
FROM (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY patient_id, loinc_code ORDER BY effective DESC, observation_id
        ) AS recency
    FROM fhir_views.vital_signs
    WHERE patient_id IS NOT NULL AND loinc_code IS NOT NULL AND value IS NOT NULL
) AS ranked
WHERE recency = 1
