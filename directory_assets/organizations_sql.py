"""SQL for the master ``organizations`` table and its four subtype tables (DuckDB dialect).

``org_id`` is ``'org_'`` + the first 16 hex digits of the MD5 of the organization's
normalized name and address (street, city, state): deterministic, stable across re-runs
and identical for the same organization listed by two sources. Such duplicates become one
organization (the treatment-center listing wins, then NARR, RCC, RCO) whose
``listed_as`` names every source type; each subtype row links to it by ``org_id``.
"""

from __future__ import annotations

from directory_assets.normalize import geohash_sql, in_us_bounds_sql, norm_key_sql
from resources.normalize import coordinate_issue_sql, zip_state_issue_sql


def name_key_sql(name: str = "org_name") -> str:
    return norm_key_sql(name)


def address_key_sql(
    street: str = "street", city: str = "city_name", state: str = "state_usps"
) -> str:
    return f"{norm_key_sql(street)} || '|' || {norm_key_sql(city)} || '|' || coalesce({state}, '')"


def org_id_sql() -> str:
    """The organization id of a staged row (columns org_name, street, city_name, state_usps)."""
    return f"'org_' || substr(md5({name_key_sql()} || '#' || {address_key_sql()}), 1, 16)"


#: Treatment services and payments copied onto the master row so the query API filters
#: one table (NULL for the other organization types); the full detail is in the subtype.
QUERY_FLAGS = (
    "level_of_care",
    "medication_assisted_treatment",
    "opioid_treatment_program",
    "accepts_medicaid",
    "accepts_medicare",
    "accepts_private_insurance",
    "accepts_cash_self_payment",
    "sliding_fee_scale",
)
TREATMENT_FLAGS_SQL = ", ".join(QUERY_FLAGS)
NO_FLAGS_SQL = "CAST(NULL AS VARCHAR), " + ", ".join(
    ["CAST(NULL AS BOOLEAN)"] * (len(QUERY_FLAGS) - 1)
)


def _candidates_sql() -> str:
    common = "source_file, record_position, org_name, street, city_name, state_usps, zip5, phone, website, email"
    return f"""
    SELECT 'treatment_center' AS org_type, 1 AS type_rank, {common},
           dba_names AS alt_names, address_line2, county, latitude, longitude,
           coalesce(org_id, id) AS source_record_id, {TREATMENT_FLAGS_SQL}
    FROM directory.stg_treatment_centers
    UNION ALL
    SELECT 'narr_residence', 2, {common},
           CAST([] AS VARCHAR[]), NULL, NULL, NULL, NULL, coalesce(org_id, id), {NO_FLAGS_SQL}
    FROM directory.stg_narr_residences
    UNION ALL
    SELECT 'recovery_center', 3, {common},
           trade_names, NULL, NULL, NULL, NULL, coalesce(org_id, id), {NO_FLAGS_SQL}
    FROM directory.stg_recovery_centers
    UNION ALL
    SELECT 'recovery_organization', 4, {common},
           trade_names, NULL, NULL, NULL, NULL, coalesce(org_id, id), {NO_FLAGS_SQL}
    FROM directory.stg_recovery_organizations
    """


#: Fields whose values may disagree between listings that collapse into one organization.
CONFLICT_FIELDS = ("phone", "website", "email", "zip5", "latitude", "longitude")


def merge_conflicts_sql() -> str:
    """Where listings collapse into one organization with different values, and where two
    different organizations share one source id: one row per conflict, with the value kept.

    ``conflict`` is ``field_values_differ`` (``field``, the ``chosen_value`` of the listing
    that wins, as organizations does, and every ``other_values``) or ``source_id_shared``
    (``source_record_id`` of one source type used by several organizations).
    """
    field_rows = "\nUNION ALL\n".join(
        f"""    SELECT org_id, '{field}' AS field, CAST({field} AS VARCHAR) AS value,
           listing_rank, source_file, record_position
    FROM ranked WHERE {field} IS NOT NULL"""
        for field in CONFLICT_FIELDS
    )
    return f"""
WITH candidates AS ({_candidates_sql()}),
keyed AS (SELECT *, {org_id_sql()} AS org_id FROM candidates),
ranked AS (
    SELECT *,
        row_number() OVER (
            PARTITION BY org_id ORDER BY type_rank, source_file, record_position
        ) AS listing_rank,
        count(*) OVER (PARTITION BY org_id) AS listings
    FROM keyed
),
field_values AS (
{field_rows}
),
differing AS (
    SELECT org_id, field
    FROM field_values
    GROUP BY org_id, field
    HAVING count(DISTINCT value) > 1
),
field_conflicts AS (
    SELECT
        'field_values_differ' AS conflict,
        d.org_id,
        CAST(NULL AS VARCHAR) AS org_type,
        CAST(NULL AS VARCHAR) AS source_record_id,
        d.field,
        min(CASE WHEN v.listing_rank = (
            SELECT min(w.listing_rank) FROM field_values AS w
            WHERE w.org_id = d.org_id AND w.field = d.field) THEN v.value END) AS chosen_value,
        array_to_string(list_sort(list_distinct(list(v.value))), ' | ') AS all_values,
        count(*) AS listings
    FROM differing AS d
    JOIN field_values AS v ON v.org_id = d.org_id AND v.field = d.field
    GROUP BY d.org_id, d.field
),
shared_ids AS (
    SELECT
        'source_id_shared' AS conflict,
        min(org_id) AS org_id,
        org_type,
        source_record_id,
        'source_record_id' AS field,
        CAST(NULL AS VARCHAR) AS chosen_value,
        array_to_string(list_sort(list_distinct(list(org_id))), ' | ') AS all_values,
        count(*) AS listings
    FROM ranked
    WHERE source_record_id IS NOT NULL
    GROUP BY org_type, source_record_id
    HAVING count(DISTINCT org_id) > 1
)
SELECT * FROM field_conflicts
UNION ALL
SELECT * FROM shared_ids
ORDER BY conflict, org_id, field
"""


def organizations_sql() -> str:
    in_bounds = in_us_bounds_sql("latitude", "longitude")
    return f"""
WITH candidates AS ({_candidates_sql()}),
keyed AS (
    SELECT *,
        {org_id_sql()} AS org_id,
        {name_key_sql()} AS name_key,
        {address_key_sql()} AS address_key
    FROM candidates
),
ranked AS (
    SELECT *,
        row_number() OVER (
            PARTITION BY org_id ORDER BY type_rank, source_file, record_position
        ) AS listing_rank,
        list_sort(list_distinct(list(org_type) OVER (PARTITION BY org_id))) AS listed_as
    FROM keyed
),
located AS (
    SELECT *,
        CASE WHEN {in_bounds} THEN latitude END AS lat,
        CASE WHEN {in_bounds} THEN longitude END AS lon
    FROM ranked
    WHERE listing_rank = 1
)
SELECT
    org_id,
    org_type,
    org_name AS name,
    alt_names AS dba_names,
    street,
    address_line2,
    city_name AS city,
    state_usps AS state,
    zip5 AS zip_code,
    county,
    lat AS latitude,
    lon AS longitude,
    {geohash_sql("lat", "lon")} AS geohash,
    CASE WHEN lat IS NOT NULL THEN 'source'
         WHEN latitude IS NOT NULL THEN 'outside_us_bounds'
         ELSE 'missing' END AS coordinate_status,
    -- kept, flagged: coordinates outside the US or far from the row's state (a Massachusetts
    -- address with Los Angeles coordinates)
    {coordinate_issue_sql("latitude", "longitude", "state_usps")} AS coordinate_issue,
    -- kept, flagged: a ZIP whose 3-digit prefix is not one of the state's (a Massachusetts
    -- address with ZIP 90012)
    CASE WHEN {zip_state_issue_sql("zip5", "state_usps")} IS NOT NULL
         THEN 'ZIP not in state [' || zip5 || ' in ' || state_usps || ']' END AS zip_state_issue,
    phone,
    website,
    email,
    listed_as,
    {TREATMENT_FLAGS_SQL},
    name_key,
    address_key,
    lower(trim(concat_ws(' ', org_name, array_to_string(alt_names, ' ')))) AS search_names,
    '|' || lower(array_to_string(alt_names, '|')) || '|' AS search_dba_names,
    lower(concat_ws(' ', street, city_name, state_usps, zip5)) AS search_address,
    source_file,
    record_position,
    source_record_id
FROM located
ORDER BY latitude NULLS LAST, org_id
"""


_TREATMENT_COLUMNS = (
    "level_of_care",
    "standard_outpatient",
    "intensive_outpatient",
    "partial_hospitalization",
    "medication_assisted_treatment",
    "opioid_treatment_program",
    "individual_therapy",
    "group_therapy",
    "family_therapy",
    "cognitive_behavioral_therapy",
    "serves_adolescents",
    "serves_adults",
    "serves_seniors",
    "minimum_age",
    "maximum_age",
    "accepts_medicaid",
    "accepts_medicare",
    "accepts_private_insurance",
    "accepts_cash_self_payment",
    "sliding_fee_scale",
    "outpatient_capacity",
    "residential_capacity",
    "inpatient_capacity",
    "current_outpatient_census",
    "quality_score",
    "license_numbers",
    "state_license",
    "federal_certification",
    "accreditations",
    "accreditation_status",
    "fax",
    "data_source",
)

SUBTYPE_SQL = {
    "treatment_centers": f"""
SELECT
    {org_id_sql()} AS org_id,
    state_usps AS state,
    {", ".join(_TREATMENT_COLUMNS)},
    TRY_CAST(last_inspection_date AS DATE) AS last_inspection_date,
    TRY_CAST(last_updated AS DATE) AS last_updated,
    source_file,
    record_position
FROM directory.stg_treatment_centers
QUALIFY row_number() OVER (PARTITION BY {org_id_sql()} ORDER BY source_file, record_position) = 1
ORDER BY state, org_id
""",
    "narr_residences": f"""
SELECT
    {org_id_sql()} AS org_id,
    state_usps AS state,
    certification_level,
    capacity AS capacity_raw,
    TRY_CAST(nullif(regexp_extract(capacity, '([0-9]+)', 1), '') AS INTEGER) AS capacity_beds,
    specializations,
    gender_specific,
    affiliate_website,
    address AS address_raw,
    data_source,
    TRY_CAST(last_update AS DATE) AS last_update,
    source_file,
    record_position
FROM directory.stg_narr_residences
QUALIFY row_number() OVER (PARTITION BY {org_id_sql()} ORDER BY source_file, record_position) = 1
ORDER BY state, org_id
""",
}
for _name in ("recovery_centers", "recovery_organizations"):
    SUBTYPE_SQL[_name] = f"""
SELECT
    {org_id_sql()} AS org_id,
    state_usps AS state,
    trade_names,
    certification_status,
    services,
    funding_sources,
    annual_reach AS annual_reach_raw,
    TRY_CAST(nullif(regexp_replace(regexp_extract(annual_reach, '([0-9][0-9,]*)', 1), ',', '', 'g'), '')
        AS INTEGER) AS annual_reach_min,
    target_populations,
    operating_hours,
    leadership,
    social_media,
    source_file,
    record_position
FROM directory.stg_{_name}
QUALIFY row_number() OVER (PARTITION BY {org_id_sql()} ORDER BY source_file, record_position) = 1
ORDER BY state, org_id
"""
