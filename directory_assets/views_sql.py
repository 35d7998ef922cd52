"""The directory's views (DuckDB dialect): what analysts and the query API read."""

from __future__ import annotations

ORG_TYPES = ("treatment_center", "narr_residence", "recovery_center", "recovery_organization")

_TYPE_COUNTS = ",\n    ".join(
    f"count(*) FILTER (WHERE org_type = '{t}') AS {t}s" for t in ORG_TYPES
)

VIEWS: dict[str, tuple[str, str]] = {
    "v_organization_summary": (
        "Organizations per state and type: how many, how many with coordinates, phone, "
        "website, and how many offer medication-assisted treatment (MAT) or accept Medicaid.",
        """
SELECT
    o.state,
    o.org_type,
    count(*) AS organizations,
    count(o.latitude) AS with_coordinates,
    count(o.phone) AS with_phone,
    count(o.website) AS with_website,
    count(*) FILTER (WHERE o.medication_assisted_treatment) AS mat_providers,
    count(*) FILTER (WHERE o.accepts_medicaid) AS accepts_medicaid
FROM directory.organizations AS o
GROUP BY o.state, o.org_type
""",
    ),
    "v_mat_providers": (
        "Treatment centers offering medication-assisted treatment (MAT) or an opioid "
        "treatment program, with location, contact and payment options: the list a person "
        "seeking buprenorphine or methadone care starts from.",
        """
SELECT
    o.org_id, o.name, o.street, o.city, o.state, o.zip_code, o.latitude, o.longitude,
    o.phone, o.website, t.level_of_care, t.medication_assisted_treatment,
    t.opioid_treatment_program, t.accepts_medicaid, t.accepts_medicare,
    t.accepts_private_insurance, t.sliding_fee_scale
FROM directory.treatment_centers AS t
JOIN directory.organizations AS o ON o.org_id = t.org_id
WHERE t.medication_assisted_treatment OR t.opioid_treatment_program
""",
    ),
    "v_recovery_ecosystem": (
        "All recovery services by state and city with counts per type: treatment centers, "
        "NARR recovery residences, recovery community centers and organizations. Shows "
        "where the continuum of care is complete and where pieces are missing.",
        f"""
SELECT
    state,
    city,
    count(*) AS organizations,
    {_TYPE_COUNTS},
    count(DISTINCT org_type) AS service_types_present
FROM directory.organizations
GROUP BY state, city
""",
    ),
    "v_services_by_location": (
        "Treatment services and payment options offered per state and city: how many "
        "centers offer each level of care, MAT, therapies, and accept each payment type.",
        """
SELECT
    o.state,
    o.city,
    count(*) AS treatment_centers,
    count(*) FILTER (WHERE t.level_of_care = 'outpatient') AS outpatient,
    count(*) FILTER (WHERE t.level_of_care = 'residential') AS residential,
    count(*) FILTER (WHERE t.level_of_care = 'inpatient') AS inpatient,
    count(*) FILTER (WHERE t.medication_assisted_treatment) AS mat,
    count(*) FILTER (WHERE t.opioid_treatment_program) AS opioid_treatment_program,
    count(*) FILTER (WHERE t.intensive_outpatient) AS intensive_outpatient,
    count(*) FILTER (WHERE t.group_therapy) AS group_therapy,
    count(*) FILTER (WHERE t.accepts_medicaid) AS accepts_medicaid,
    count(*) FILTER (WHERE t.accepts_medicare) AS accepts_medicare,
    count(*) FILTER (WHERE t.accepts_private_insurance) AS accepts_private_insurance,
    count(*) FILTER (WHERE t.sliding_fee_scale) AS sliding_fee_scale
FROM directory.treatment_centers AS t
JOIN directory.organizations AS o ON o.org_id = t.org_id
GROUP BY o.state, o.city
""",
    ),
    "v_data_quality": (
        "Completeness per organization type: share of organizations with a full address "
        "(street, city, ZIP), any contact (phone, website or email), coordinates, and "
        "services listed. Where the directory needs enrichment.",
        """
SELECT
    o.org_type,
    count(*) AS organizations,
    round(avg(CASE WHEN o.street IS NOT NULL AND o.city IS NOT NULL AND o.zip_code IS NOT NULL
                   THEN 1 ELSE 0 END), 4) AS address_complete,
    round(avg(CASE WHEN o.phone IS NOT NULL OR o.website IS NOT NULL OR o.email IS NOT NULL
                   THEN 1 ELSE 0 END), 4) AS contact_complete,
    round(avg(CASE WHEN o.latitude IS NOT NULL THEN 1 ELSE 0 END), 4) AS coordinates_complete,
    round(avg(CASE
        WHEN o.org_type = 'treatment_center' THEN CASE WHEN t.level_of_care IS NOT NULL THEN 1 ELSE 0 END
        WHEN o.org_type = 'narr_residence' THEN CASE WHEN n.certification_level IS NOT NULL THEN 1 ELSE 0 END
        WHEN o.org_type = 'recovery_center' THEN CASE WHEN array_length(c.services) > 0 THEN 1 ELSE 0 END
        ELSE CASE WHEN array_length(r.services) > 0 THEN 1 ELSE 0 END END), 4) AS services_complete
FROM directory.organizations AS o
LEFT JOIN directory.treatment_centers AS t ON t.org_id = o.org_id
LEFT JOIN directory.narr_residences AS n ON n.org_id = o.org_id
LEFT JOIN directory.recovery_centers AS c ON c.org_id = o.org_id
LEFT JOIN directory.recovery_organizations AS r ON r.org_id = o.org_id
GROUP BY o.org_type
""",
    ),
}

REJECTED_RECORDS_SQL = """
SELECT source_name, source_file, record_position, raw_record, reason
FROM directory.stg_treatment_centers_rejected
UNION ALL
SELECT source_name, source_file, record_position, raw_record, reason
FROM directory.stg_narr_residences_rejected
UNION ALL
SELECT source_name, source_file, record_position, raw_record, reason
FROM directory.stg_recovery_centers_rejected
UNION ALL
SELECT source_name, source_file, record_position, raw_record, reason
FROM directory.stg_recovery_organizations_rejected
ORDER BY source_name, source_file, record_position
"""
