-- One row per canonical medication order: patient, medication, facility, county, start
-- date, dispenses and costs.
SELECT
    m.medication_id,
    m.encounter_id,
    coalesce(p.patient_key, -1) AS patient_key,
    coalesce(d.medication_key, -1) AS medication_key,
    coalesce(f.facility_key, -1) AS facility_key,
    coalesce(p.geography_key, -1) AS geography_key,
    coalesce(CAST(strftime(CAST(m.start_at AS DATE), '%Y%m%d') AS INTEGER), -1) AS start_date_key,
    m.dispenses,
    m.total_cost,
    m.payer_coverage
FROM healthsim.medications AS m
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = m.encounter_id
LEFT JOIN analytics.dim_patient AS p ON p.patient_id = m.patient_id
LEFT JOIN analytics.dim_medication AS d ON d.medication_code = m.code
LEFT JOIN analytics.dim_facility AS f ON f.organization_id = e.organization_id
