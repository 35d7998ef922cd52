-- healthsim.medications rows from landed FHIR MedicationRequest resources: the inverse of
-- the MedicationRequest mapping; costs and the payer from their project extensions, the
-- number of dispenses from numberOfRepeatsAllowed + 1.
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        coalesce(json_extract_string(resource_json, '$.dispenseRequest.validityPeriod.start'),
            json_extract_string(resource_json, '$.authoredOn')) AS start_raw,
        json_extract_string(resource_json, '$.dispenseRequest.validityPeriod.end') AS stop_raw
    FROM fhir_in.imported_medication_request_resources
),
extensions AS (
    SELECT id, json_extract_string(e, '$.url') AS url, e
    FROM (
        SELECT id, unnest(CAST(json_extract(r, '$.extension') AS JSON[])) AS e FROM raw
    ) AS x
),
pivoted AS (
    SELECT
        id,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:base-cost'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS base_cost,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:payer-coverage'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS payer_coverage,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:total-cost'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS total_cost,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:payer' THEN coalesce(
            nullif(regexp_extract(json_extract_string(e, '$.valueReference.reference'), '([^/:]+)$', 1), ''),
            json_extract_string(e, '$.valueReference.identifier.value')) END) AS payer_id
    FROM extensions
    GROUP BY id
)
SELECT
    lower(raw.id) AS medication_id,
    regexp_extract(replace(raw.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    lower(regexp_extract(json_extract_string(r, '$.subject.reference'), '([^/:]+)$', 1)) AS patient_id,
    lower(nullif(regexp_extract(json_extract_string(r, '$.encounter.reference'), '([^/:]+)$', 1), '')) AS encounter_id,
    lower(p.payer_id) AS payer_id,
    json_extract_string(r, '$.medicationCodeableConcept.coding[0].code') AS code,
    coalesce(json_extract_string(r, '$.medicationCodeableConcept.text'),
        json_extract_string(r, '$.medicationCodeableConcept.coding[0].display')) AS description,
    {{ timestamp(start_raw) }} AS start_at,
    {{ timestamp(stop_raw) }} AS stop_at,
    CAST(p.base_cost AS DECIMAL(18, 2)) AS base_cost,
    CAST(p.payer_coverage AS DECIMAL(18, 2)) AS payer_coverage,
    CAST(CAST(json_extract_string(r, '$.dispenseRequest.numberOfRepeatsAllowed') AS INTEGER) + 1 AS INTEGER) AS dispenses,
    CAST(p.total_cost AS DECIMAL(18, 2)) AS total_cost,
    json_extract_string(r, '$.reasonCode[0].coding[0].code') AS reason_code,
    raw.source_file,
    CAST(raw.source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
LEFT JOIN pivoted AS p ON p.id = raw.id
