-- One row per canonical encounter.
-- length_of_stay_days: calendar days from admission to discharge (0 = same day).
-- readmission_30d: an inpatient stay followed by the patient's next inpatient admission
--   within 30 days of this discharge (the index stay carries the flag).
-- mortality_flag: the patient died during the encounter or within 30 days after it.
WITH inpatient AS (
    SELECT
        encounter_id,
        lead(start_at) OVER (PARTITION BY patient_id ORDER BY start_at, encounter_id) AS next_admission_at
    FROM healthsim.encounters
    WHERE encounter_class = 'inpatient'
)
SELECT
    e.encounter_id,
    coalesce(p.patient_key, -1) AS patient_key,
    coalesce(f.facility_key, -1) AS facility_key,
    coalesce(p.geography_key, -1) AS geography_key,
    coalesce(dx.diagnosis_key, -1) AS reason_diagnosis_key,
    coalesce(pr.provider_key, -1) AS provider_key,
    coalesce(py.payer_key, -1) AS payer_key,
    coalesce(CAST(strftime(CAST(e.start_at AS DATE), '%Y%m%d') AS INTEGER), -1) AS start_date_key,
    coalesce(CAST(strftime(CAST(e.stop_at AS DATE), '%Y%m%d') AS INTEGER), -1) AS end_date_key,
    e.encounter_class,
    e.code AS encounter_code,
    CAST(date_diff('day', CAST(e.start_at AS DATE), CAST(coalesce(e.stop_at, e.start_at) AS DATE)) AS INTEGER) AS length_of_stay_days,
    coalesce(
        e.encounter_class = 'inpatient'
        AND i.next_admission_at >= e.stop_at
        AND i.next_admission_at <= e.stop_at + INTERVAL 30 DAY,
        false
    ) AS readmission_30d,
    coalesce(
        p.death_date >= CAST(e.start_at AS DATE)
        AND p.death_date <= CAST(coalesce(e.stop_at, e.start_at) + INTERVAL 30 DAY AS DATE),
        false
    ) AS mortality_flag,
    e.base_cost,
    e.total_claim_cost,
    e.payer_coverage
FROM healthsim.encounters AS e
LEFT JOIN inpatient AS i ON i.encounter_id = e.encounter_id
LEFT JOIN analytics.dim_patient AS p ON p.patient_id = e.patient_id
LEFT JOIN analytics.dim_facility AS f ON f.organization_id = e.organization_id
LEFT JOIN analytics.dim_diagnosis AS dx ON dx.diagnosis_code = e.reason_code
LEFT JOIN analytics.dim_provider AS pr ON pr.provider_id = e.provider_id
LEFT JOIN analytics.dim_payer AS py ON py.payer_id = e.payer_id
