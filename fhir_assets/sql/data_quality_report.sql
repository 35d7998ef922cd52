-- data_quality_report: per landing file and overall (source_file = '(all files)').
-- Populated = a non-empty value landed; valid_gender = a recognised spelling of
-- male/female/other/unknown; valid_birth_date = parsed and neither future nor before 1850;
-- rejected = rows in rejected_patients (duplicates included), with one column per reason.
-- zip_* = postal codes made NULL, by reason (0/00000, not numeric, wrong length), and ZIPs
-- whose 3-digit prefix does not belong to the row's state (kept, flagged).
SELECT
    CASE WHEN grouping(source_file) = 1 THEN 'overall' ELSE 'file' END AS scope,
    coalesce(source_file, '(all files)') AS source_file,
    CASE WHEN grouping(source_file) = 1 THEN NULL ELSE max(source_format) END AS source_format,
    count(*) AS total_records,
    count(CASE WHEN reject_reason IS NULL THEN 1 END) AS mapped,
    count(patient_id) AS populated_patient_id,
    count(given_name) AS populated_given_name,
    count(family_name) AS populated_family_name,
    count(birth_date_raw) AS populated_birth_date,
    count(gender_raw) AS populated_gender,
    count(address_line) AS populated_address_line,
    count(city) AS populated_city,
    count(state) AS populated_state,
    count(postal_code) AS populated_postal_code,
    count(phone) AS populated_phone,
    count(email) AS populated_email,
    count(race) AS populated_race,
    count(ethnicity) AS populated_ethnicity,
    count(gender) AS valid_gender,
    count(CASE WHEN birth_date <= current_date AND birth_date >= DATE '1850-01-01' THEN 1 END)
        AS valid_birth_date,
    count(CASE WHEN zip_issue = 'zero ZIP' THEN 1 END) AS zip_zero,
    count(CASE WHEN zip_issue = 'not numeric' THEN 1 END) AS zip_not_numeric,
    count(CASE WHEN zip_issue = 'wrong length' THEN 1 END) AS zip_wrong_length,
    count(zip_state_issue) AS zip_not_in_state,
    count(field_issues) AS rows_with_field_issues,
    count(reject_reason) AS rejected,
    count(CASE WHEN reject_reason = 'missing_patient_id' THEN 1 END) AS rejected_missing_patient_id,
    count(CASE WHEN reject_reason = 'invalid_patient_id' THEN 1 END) AS rejected_invalid_patient_id,
    count(CASE WHEN reject_reason = 'unparsable_birth_date' THEN 1 END) AS rejected_unparsable_birth_date,
    count(CASE WHEN reject_reason = 'future_birth_date' THEN 1 END) AS rejected_future_birth_date,
    count(CASE WHEN reject_reason = 'implausible_birth_date' THEN 1 END) AS rejected_implausible_birth_date,
    count(CASE WHEN reject_reason = 'unparsable_deceased_date' THEN 1 END) AS rejected_unparsable_deceased_date,
    count(CASE WHEN reject_reason = 'duplicate_patient_id' THEN 1 END) AS rejected_duplicate_patient_id,
    count(CASE WHEN reject_reason = 'invalid_synthea_record' THEN 1 END) AS rejected_invalid_synthea_record,
    count(CASE WHEN reject_reason = 'malformed_row' THEN 1 END) AS rejected_malformed_row
FROM fhir.patient_data
GROUP BY GROUPING SETS ((source_file), ())
ORDER BY scope, source_file
