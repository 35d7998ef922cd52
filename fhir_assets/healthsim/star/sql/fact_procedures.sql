-- One row per canonical procedure: patient, procedure, facility, county, date and cost.
SELECT
    pr.procedure_id,
    pr.encounter_id,
    coalesce(p.patient_key, -1) AS patient_key,
    coalesce(d.procedure_key, -1) AS procedure_key,
    coalesce(f.facility_key, -1) AS facility_key,
    coalesce(p.geography_key, -1) AS geography_key,
    coalesce(CAST(strftime(CAST(pr.start_at AS DATE), '%Y%m%d') AS INTEGER), -1) AS procedure_date_key,
    pr.base_cost
FROM healthsim.procedures AS pr
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = pr.encounter_id
LEFT JOIN analytics.dim_patient AS p ON p.patient_id = pr.patient_id
LEFT JOIN analytics.dim_procedure AS d ON d.procedure_code = pr.code
LEFT JOIN analytics.dim_facility AS f ON f.organization_id = e.organization_id
