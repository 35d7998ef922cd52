-- Every resource that landed in data/landing/fhir: one per NDJSON line (FHIR Bulk Data),
-- one per Bundle entry (what Synthea writes), or a file holding one resource. Each item is
-- judged: a usable resource has a JSON object with a supported resourceType and a FHIR id
-- ([A-Za-z0-9.-]{1,64}); resources that belong to a patient name it (subject or patient).
-- Among copies of one resource (type and id) the last landed wins; the others are
-- duplicates. `reason` is NULL for a usable resource; `issue_code` is the OperationOutcome
-- issue type of the reason.
-- Inputs: temp views fhir_in_ndjson and fhir_in_json (text, source_file), one row per file.
WITH ndjson_lines AS (
    SELECT
        source_file,
        unnest(string_split(text, chr(10))) AS raw,
        generate_subscripts(string_split(text, chr(10)), 1) AS source_line
    FROM fhir_in_ndjson
),
documents AS (
    SELECT
        source_file,
        text,
        coalesce(json_extract_string(
            CASE WHEN json_valid(text) THEN text END, '$.resourceType') = 'Bundle', false
        ) AS is_bundle
    FROM fhir_in_json
),
bundle_entries AS (
    SELECT
        source_file,
        unnest(CAST(json_extract(text, '$.entry') AS JSON[])) AS entry,
        generate_subscripts(CAST(json_extract(text, '$.entry') AS JSON[]), 1) AS source_line
    FROM documents
    WHERE is_bundle
),
items AS (
    SELECT source_file, source_line, raw FROM ndjson_lines WHERE trim(raw) <> ''
    UNION ALL
    SELECT source_file, source_line, CAST(json_extract(entry, '$.resource') AS VARCHAR)
    FROM bundle_entries
    UNION ALL
    SELECT source_file, 1, text FROM documents WHERE NOT is_bundle
),
valid AS (
    SELECT *, CASE WHEN json_valid(raw) THEN raw END AS document FROM items
),
parsed AS (
    SELECT
        *,
        coalesce(json_type(document) = 'OBJECT', false) AS is_object,
        json_extract_string(document, '$.resourceType') AS resource_type,
        json_extract_string(document, '$.id') AS id,
        coalesce(
            json_extract_string(document, '$.subject.reference'),
            json_extract_string(document, '$.patient.reference')
        ) AS patient_reference
    FROM valid
),
judged AS (
    SELECT
        *,
        CASE
            WHEN raw IS NULL THEN 'a Bundle entry without a resource'
            WHEN NOT is_object THEN 'not a JSON object'
            WHEN resource_type IS NULL THEN 'resourceType is missing'
            WHEN resource_type NOT IN ('Patient', 'Encounter', 'Condition', 'Observation',
                'MedicationRequest', 'Procedure', 'Immunization', 'AllergyIntolerance',
                'Organization', 'Practitioner', 'Claim')
                THEN 'resourceType ' || resource_type || ' is not supported'
            WHEN id IS NULL THEN 'id is missing'
            WHEN NOT regexp_matches(id, '^[A-Za-z0-9.-]{1,64}$') THEN 'id is not a FHIR id: ' || id
            WHEN resource_type NOT IN ('Patient', 'Organization', 'Practitioner')
                AND patient_reference IS NULL
                THEN resource_type || ' names no patient (subject or patient reference)'
        END AS problem,
        CASE
            WHEN raw IS NULL OR NOT is_object THEN 'structure'
            WHEN resource_type IS NULL OR id IS NULL OR patient_reference IS NULL THEN 'required'
            WHEN resource_type NOT IN ('Patient', 'Encounter', 'Condition', 'Observation',
                'MedicationRequest', 'Procedure', 'Immunization', 'AllergyIntolerance',
                'Organization', 'Practitioner', 'Claim') THEN 'not-supported'
            ELSE 'value'
        END AS problem_code
    FROM parsed
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY resource_type, id ORDER BY source_file DESC, source_line DESC
        ) AS copy_rank
    FROM judged
)
SELECT
    resource_type,
    id,
    raw AS resource_json,
    source_file,
    CAST(source_line AS BIGINT) AS source_line,
    CASE
        WHEN problem IS NOT NULL THEN problem
        WHEN copy_rank > 1 THEN 'duplicate of a later copy of ' || resource_type || '/' || id
    END AS reason,
    CASE
        WHEN problem IS NOT NULL THEN problem_code
        WHEN copy_rank > 1 THEN 'duplicate'
    END AS issue_code
FROM ranked
