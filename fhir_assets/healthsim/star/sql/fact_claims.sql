-- One row per canonical claim with its amounts (DECIMAL, to the cent): billed, paid, outstanding.
SELECT
    c.claim_id,
    c.encounter_id,
    coalesce(p.patient_key, -1) AS patient_key,
    coalesce(f.facility_key, -1) AS facility_key,
    coalesce(p.geography_key, -1) AS geography_key,
    coalesce(dx.diagnosis_key, -1) AS primary_diagnosis_key,
    coalesce(CAST(strftime(CAST(c.service_at AS DATE), '%Y%m%d') AS INTEGER), -1) AS service_date_key,
    c.status,
    c.claim_amount,
    c.paid_amount,
    c.outstanding_amount
FROM healthsim.claims AS c
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = c.encounter_id
LEFT JOIN analytics.dim_patient AS p ON p.patient_id = c.patient_id
LEFT JOIN analytics.dim_diagnosis AS dx ON dx.diagnosis_code = c.primary_diagnosis_code
LEFT JOIN analytics.dim_facility AS f ON f.organization_id = e.organization_id
