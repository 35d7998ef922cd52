-- healthsim.encounters rows from landed FHIR Encounter resources: the inverse of the
-- Encounter mapping. A reference is read as Type/<id> or urn:uuid:<id> (Bundles), else
-- the identifier the mapping writes for a missing target. The class is the canonical
-- class coding when present, else read from the v3 ActCode class.
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.period.start') AS start_raw,
        json_extract_string(resource_json, '$.period.end') AS stop_raw
    FROM fhir_in.imported_encounter_resources
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
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:total-claim-cost'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS total_claim_cost,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:payer-coverage'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS payer_coverage,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:payer' THEN coalesce(
            nullif(regexp_extract(json_extract_string(e, '$.valueReference.reference'), '([^/:]+)$', 1), ''),
            json_extract_string(e, '$.valueReference.identifier.value')) END) AS payer_id
    FROM extensions
    GROUP BY id
)
SELECT
    lower(raw.id) AS encounter_id,
    regexp_extract(replace(raw.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
    lower(regexp_extract(json_extract_string(r, '$.subject.reference'), '([^/:]+)$', 1)) AS patient_id,
    lower(coalesce(
        nullif(regexp_extract(json_extract_string(r, '$.serviceProvider.reference'), '([^/:]+)$', 1), ''),
        json_extract_string(r, '$.serviceProvider.identifier.value'))) AS organization_id,
    lower(coalesce(
        nullif(regexp_extract(json_extract_string(r, '$.participant[0].individual.reference'), '([^/:]+)$', 1), ''),
        json_extract_string(r, '$.participant[0].individual.identifier.value'))) AS provider_id,
    lower(p.payer_id) AS payer_id,
    coalesce(
        CASE WHEN json_extract_string(r, '$.type[1].coding[0].system') = 'urn:narr-platform:fhir:encounter-class'
            THEN json_extract_string(r, '$.type[1].coding[0].code') END,
        CASE json_extract_string(r, '$.class.code')
            WHEN 'EMER' THEN 'emergency' WHEN 'IMP' THEN 'inpatient' WHEN 'AMB' THEN 'ambulatory'
            WHEN 'HH' THEN 'home' WHEN 'VR' THEN 'virtual' END) AS encounter_class,
    {{ timestamp(start_raw) }} AS start_at,
    {{ timestamp(stop_raw) }} AS stop_at,
    json_extract_string(r, '$.type[0].coding[0].code') AS code,
    coalesce(json_extract_string(r, '$.type[0].text'),
        json_extract_string(r, '$.type[0].coding[0].display')) AS description,
    CAST(p.base_cost AS DECIMAL(18, 2)) AS base_cost,
    coalesce(CAST(p.total_claim_cost AS DECIMAL(18, 2)), 0) AS total_claim_cost,
    coalesce(CAST(p.payer_coverage AS DECIMAL(18, 2)), 0) AS payer_coverage,
    json_extract_string(r, '$.reasonCode[0].coding[0].code') AS reason_code,
    json_extract_string(r, '$.reasonCode[0].coding[0].display') AS reason_description,
    raw.source_file,
    CAST(raw.source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM raw
LEFT JOIN pivoted AS p ON p.id = raw.id
