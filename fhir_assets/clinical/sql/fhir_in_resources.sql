-- Every resource that landed in data/landing/fhir: one per NDJSON line (FHIR Bulk Data),
-- one per Bundle entry (what Synthea writes), or a file holding one resource. Each item is
-- judged: a usable resource has a JSON object with a supported resourceType and a FHIR id
-- ([A-Za-z0-9.-]{1,64}); its key date (Patient.birthDate, Encounter.period.start, ...) is
-- a date when present, and present where the canonical table needs it; resources that
-- belong to a patient name one that landed usable (subject or patient, as Patient/<id> or
-- urn:uuid:<id>), and an encounter they name (required where the canonical table needs
-- one) landed usable too. Among copies of one resource (type and id) the last landed wins;
-- the others are duplicates. `reason` is NULL for a usable resource; `issue_code` is the
-- OperationOutcome issue type of the reason and `expression` the element at fault.
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
        ) AS patient_reference,
        CASE WHEN json_extract_string(document, '$.subject.reference') IS NOT NULL
            THEN 'subject' ELSE 'patient' END AS patient_element,
        CASE WHEN json_extract_string(document, '$.resourceType') = 'Claim'
            THEN json_extract_string(document, '$.item[0].encounter[0].reference')
            ELSE json_extract_string(document, '$.encounter.reference')
        END AS encounter_reference,
        CASE json_extract_string(document, '$.resourceType')
            WHEN 'Patient' THEN 'birthDate'
            WHEN 'Encounter' THEN 'period.start'
            WHEN 'Condition' THEN 'onsetDateTime'
            WHEN 'Observation' THEN 'effectiveDateTime'
            WHEN 'MedicationRequest' THEN 'authoredOn'
            WHEN 'Procedure' THEN 'performedPeriod.start'
            WHEN 'Immunization' THEN 'occurrenceDateTime'
            WHEN 'AllergyIntolerance' THEN 'onsetDateTime'
            WHEN 'Claim' THEN 'billablePeriod.start'
        END AS date_element,
        CASE json_extract_string(document, '$.resourceType')
            WHEN 'Patient' THEN json_extract_string(document, '$.birthDate')
            WHEN 'Encounter' THEN json_extract_string(document, '$.period.start')
            WHEN 'Condition' THEN json_extract_string(document, '$.onsetDateTime')
            WHEN 'Observation' THEN json_extract_string(document, '$.effectiveDateTime')
            WHEN 'MedicationRequest' THEN json_extract_string(document, '$.authoredOn')
            WHEN 'Procedure' THEN json_extract_string(document, '$.performedPeriod.start')
            WHEN 'Immunization' THEN json_extract_string(document, '$.occurrenceDateTime')
            WHEN 'AllergyIntolerance' THEN json_extract_string(document, '$.onsetDateTime')
            WHEN 'Claim' THEN json_extract_string(document, '$.billablePeriod.start')
        END AS date_raw,
        json_extract_string(document, '$.deceasedDateTime') AS deceased_raw
    FROM valid
),
dated AS (
    SELECT
        *,
        {{ timestamp_issue(date_raw) }} AS date_issue,
        {{ timestamp_issue(deceased_raw) }} AS deceased_issue,
        lower(regexp_extract(patient_reference, '([^/:]+)$', 1)) AS patient_ref_id,
        lower(nullif(regexp_extract(encounter_reference, '([^/:]+)$', 1), '')) AS encounter_ref_id
    FROM parsed
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
            WHEN date_element IS NOT NULL AND resource_type <> 'Patient' AND date_raw IS NULL
                THEN resource_type || '.' || date_element || ' is missing'
            WHEN date_issue IS NOT NULL
                THEN resource_type || '.' || date_element || ' is ' || date_issue || ': ' || date_raw
            WHEN deceased_issue IS NOT NULL
                THEN 'Patient.deceasedDateTime is ' || deceased_issue || ': ' || deceased_raw
            WHEN resource_type IN ('Condition', 'MedicationRequest', 'Procedure', 'Immunization',
                'AllergyIntolerance', 'Claim') AND encounter_reference IS NULL
                THEN resource_type || ' names no encounter'
        END AS problem,
        CASE
            WHEN raw IS NULL OR NOT is_object THEN 'structure'
            WHEN resource_type IS NULL THEN 'required'
            WHEN resource_type NOT IN ('Patient', 'Encounter', 'Condition', 'Observation',
                'MedicationRequest', 'Procedure', 'Immunization', 'AllergyIntolerance',
                'Organization', 'Practitioner', 'Claim') THEN 'not-supported'
            WHEN id IS NULL THEN 'required'
            WHEN NOT regexp_matches(id, '^[A-Za-z0-9.-]{1,64}$') THEN 'value'
            WHEN resource_type NOT IN ('Patient', 'Organization', 'Practitioner')
                AND patient_reference IS NULL THEN 'required'
            WHEN date_element IS NOT NULL AND resource_type <> 'Patient' AND date_raw IS NULL
                THEN 'required'
            WHEN date_issue IS NOT NULL OR deceased_issue IS NOT NULL THEN 'value'
            ELSE 'required'
        END AS problem_code,
        CASE
            WHEN raw IS NULL OR NOT is_object OR resource_type IS NULL THEN NULL
            WHEN resource_type NOT IN ('Patient', 'Encounter', 'Condition', 'Observation',
                'MedicationRequest', 'Procedure', 'Immunization', 'AllergyIntolerance',
                'Organization', 'Practitioner', 'Claim') THEN 'resourceType'
            WHEN id IS NULL OR NOT regexp_matches(id, '^[A-Za-z0-9.-]{1,64}$')
                THEN resource_type || '.id'
            WHEN resource_type NOT IN ('Patient', 'Organization', 'Practitioner')
                AND patient_reference IS NULL THEN resource_type || '.subject'
            WHEN (date_element IS NOT NULL AND resource_type <> 'Patient' AND date_raw IS NULL)
                OR date_issue IS NOT NULL THEN resource_type || '.' || date_element
            WHEN deceased_issue IS NOT NULL THEN 'Patient.deceasedDateTime'
            WHEN resource_type = 'Claim' THEN 'Claim.item.encounter'
            ELSE resource_type || '.encounter'
        END AS problem_expression
    FROM dated
),
-- References: a resource's patient, then its encounter, must have landed usable.
usable_patients AS (
    SELECT DISTINCT lower(id) AS patient_id FROM judged
    WHERE resource_type = 'Patient' AND problem IS NULL
),
patient_checked AS (
    SELECT
        j.* EXCLUDE (problem, problem_code, problem_expression),
        coalesce(j.problem, CASE
            WHEN j.resource_type NOT IN ('Patient', 'Organization', 'Practitioner')
                AND p.patient_id IS NULL
            THEN j.resource_type || '.' || j.patient_element || ' refers to a Patient that did '
                || 'not land or was rejected: ' || j.patient_reference END) AS problem,
        CASE WHEN j.problem IS NOT NULL THEN j.problem_code ELSE 'not-found' END AS problem_code,
        CASE WHEN j.problem IS NOT NULL THEN j.problem_expression
            ELSE j.resource_type || '.' || j.patient_element END AS problem_expression
    FROM judged AS j
    LEFT JOIN usable_patients AS p ON p.patient_id = j.patient_ref_id
),
usable_encounters AS (
    SELECT DISTINCT lower(id) AS encounter_id FROM patient_checked
    WHERE resource_type = 'Encounter' AND problem IS NULL
),
reference_checked AS (
    SELECT
        c.* EXCLUDE (problem, problem_code, problem_expression),
        coalesce(c.problem, CASE
            WHEN c.encounter_ref_id IS NOT NULL AND c.resource_type <> 'Encounter'
                AND e.encounter_id IS NULL
            THEN c.resource_type || CASE WHEN c.resource_type = 'Claim' THEN '.item.encounter'
                ELSE '.encounter' END || ' refers to an Encounter that did not land or was '
                || 'rejected: ' || c.encounter_reference END) AS problem,
        CASE WHEN c.problem IS NOT NULL THEN c.problem_code ELSE 'not-found' END AS problem_code,
        CASE WHEN c.problem IS NOT NULL THEN c.problem_expression
            WHEN c.resource_type = 'Claim' THEN 'Claim.item.encounter'
            ELSE c.resource_type || '.encounter' END AS problem_expression
    FROM patient_checked AS c
    LEFT JOIN usable_encounters AS e ON e.encounter_id = c.encounter_ref_id
),
ranked AS (
    SELECT
        *,
        row_number() OVER (
            PARTITION BY resource_type, id ORDER BY source_file DESC, source_line DESC
        ) AS copy_rank
    FROM reference_checked
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
    END AS issue_code,
    CASE
        WHEN problem IS NOT NULL THEN problem_expression
        WHEN copy_rank > 1 THEN resource_type || '.id'
    END AS expression
FROM ranked
