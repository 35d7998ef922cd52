-- One row per canonical observation: patient, facility, county, date, LOINC code,
-- category, and the numeric value with its UCUM unit or the text answer.
SELECT
    o.observation_id,
    o.encounter_id,
    coalesce(p.patient_key, -1) AS patient_key,
    coalesce(f.facility_key, -1) AS facility_key,
    coalesce(p.geography_key, -1) AS geography_key,
    coalesce(CAST(strftime(CAST(o.observed_at AS DATE), '%Y%m%d') AS INTEGER), -1) AS observation_date_key,
    o.code AS loinc_code,
    o.description,
    o.category,
    o.value_numeric,
    o.value_text,
    o.units
FROM healthsim.observations AS o
LEFT JOIN healthsim.encounters AS e ON e.encounter_id = o.encounter_id
LEFT JOIN analytics.dim_patient AS p ON p.patient_id = o.patient_id
LEFT JOIN analytics.dim_facility AS f ON f.organization_id = e.organization_id
