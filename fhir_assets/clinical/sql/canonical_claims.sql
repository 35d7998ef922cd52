-- healthsim.claims rows from landed FHIR Claim resources: the inverse of the Claim mapping.
-- The billed amount is Claim.total, the payer Claim.insurer, the primary diagnosis the
-- first one typed principal; Synthea's status and type id and the outstanding amount come
-- from the project extension and code system; paid = billed - outstanding.
WITH raw AS (
    SELECT
        id,
        resource_json AS r,
        source_file,
        source_line,
        json_extract_string(resource_json, '$.billablePeriod.start') AS service_raw
    FROM fhir_in.imported_claim_resources
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
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:claim-status'
            THEN json_extract_string(e, '$.valueCode') END) AS status,
        max(CASE WHEN url = 'urn:narr-platform:fhir:extension:outstanding-amount'
            THEN json_extract_string(e, '$.valueMoney.value') END) AS outstanding_raw
    FROM extensions
    GROUP BY id
),
typed AS (
    SELECT
        lower(raw.id) AS claim_id,
        regexp_extract(replace(raw.source_file, '\', '/'), '([^/]+)/[^/]+$', 1) AS source,
        lower(regexp_extract(json_extract_string(r, '$.patient.reference'), '([^/:]+)$', 1)) AS patient_id,
        lower(nullif(regexp_extract(json_extract_string(r, '$.item[0].encounter[0].reference'), '([^/:]+)$', 1), '')) AS encounter_id,
        lower(CASE WHEN json_extract_string(r, '$.provider.reference') LIKE 'Organization/%' THEN NULL
            ELSE coalesce(
                nullif(regexp_extract(json_extract_string(r, '$.provider.reference'), '([^/:]+)$', 1), ''),
                json_extract_string(r, '$.provider.identifier.value')) END) AS provider_id,
        lower(coalesce(
            nullif(regexp_extract(json_extract_string(r, '$.insurer.reference'), '([^/:]+)$', 1), ''),
            json_extract_string(r, '$.insurer.identifier.value'))) AS payer_id,
        {{ timestamp(service_raw) }} AS service_at,
        upper(p.status) AS status,
        coalesce(
            CASE WHEN json_extract_string(r, '$.type.coding[1].system') = 'urn:narr-platform:fhir:healthcare-claim-type'
                THEN CAST(json_extract_string(r, '$.type.coding[1].code') AS INTEGER) END,
            CASE json_extract_string(r, '$.type.coding[0].code')
                WHEN 'institutional' THEN 1 WHEN 'professional' THEN 2 END) AS claim_type_id,
        CASE WHEN json_extract_string(r, '$.diagnosis[0].type[0].coding[0].code') = 'principal'
            THEN json_extract_string(r, '$.diagnosis[0].diagnosisCodeableConcept.coding[0].code') END
            AS primary_diagnosis_code,
        concat_ws(',',
            json_extract_string(r, '$.diagnosis[0].diagnosisCodeableConcept.coding[0].code'),
            json_extract_string(r, '$.diagnosis[1].diagnosisCodeableConcept.coding[0].code'),
            json_extract_string(r, '$.diagnosis[2].diagnosisCodeableConcept.coding[0].code'),
            json_extract_string(r, '$.diagnosis[3].diagnosisCodeableConcept.coding[0].code'),
            json_extract_string(r, '$.diagnosis[4].diagnosisCodeableConcept.coding[0].code'),
            json_extract_string(r, '$.diagnosis[5].diagnosisCodeableConcept.coding[0].code'),
            json_extract_string(r, '$.diagnosis[6].diagnosisCodeableConcept.coding[0].code'),
            json_extract_string(r, '$.diagnosis[7].diagnosisCodeableConcept.coding[0].code')) AS diagnosis_codes,
        CAST(json_extract_string(r, '$.total.value') AS DECIMAL(18, 2)) AS claim_amount,
        CAST(coalesce(CAST(p.outstanding_raw AS DECIMAL(18, 2)), 0) AS DECIMAL(18, 2)) AS outstanding_amount,
        raw.source_file,
        raw.source_line
    FROM raw
    LEFT JOIN pivoted AS p ON p.id = raw.id
)
SELECT
    claim_id, source, patient_id, encounter_id, provider_id, payer_id, service_at, status,
    claim_type_id, primary_diagnosis_code, diagnosis_codes,
    claim_amount,
    CAST(claim_amount - outstanding_amount AS DECIMAL(18, 2)) AS paid_amount,
    outstanding_amount,
    source_file,
    CAST(source_line AS BIGINT) AS source_row,
    CAST(NULL AS VARCHAR) AS field_issues
FROM typed
