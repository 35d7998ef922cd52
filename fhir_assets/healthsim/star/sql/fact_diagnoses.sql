-- One row per canonical condition: who, which diagnosis, where (facility of the encounter
-- it was recorded at, patient's county) and when (onset; resolution or -1 while active).
SELECT
    c.condition_id,
    c.encounter_id,
    coalesce(p.patient_key, -1) AS patient_key,
    coalesce(dx.diagnosis_key, -1) AS diagnosis_key,
    coalesce(f.facility_key, -1) AS facility_key,
    coalesce(p.geography_key, -1) AS geography_key,
    coalesce(CAST(strftime(c.onset_date, '%Y%m%d') AS INTEGER), -1) AS onset_date_key,
    coalesce(CAST(strftime(c.resolved_date, '%Y%m%d') AS INTEGER), -1) AS resolved_date_key,
    c.resolved_date IS NULL AS is_active,
    CAST(date_diff('day', c.onset_date, c.resolved_date) AS INTEGER) AS duration_days
FROM healthsim.conditions AS c
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = c.encounter_id
LEFT JOIN analytics.dim_patient AS p ON p.patient_id = c.patient_id
LEFT JOIN analytics.dim_diagnosis AS dx ON dx.diagnosis_code = c.code
LEFT JOIN analytics.dim_facility AS f ON f.organization_id = e.organization_id
