"""The four JSON sources and the SQL that stages them (DuckDB dialect, built once per run).

Each source file is one JSON object holding one array (``{"all_facilities": [...]}``),
or numbered part files of the same shape. The reader types the array as ``JSON[]``,
unnests it with each record's 1-based position, checks every field's JSON type against
the schema below and normalizes state and ZIP. A record that cannot be used (not an
object, no name, a field of the wrong type, an unrecognized state) keeps its raw JSON
and the reason and goes to quarantine instead of the staged table.
"""

from __future__ import annotations

import dataclasses

from directory_assets.normalize import state_lookup_sql, zip5_sql

# Field kinds: how a JSON value is checked and typed.
TEXT, NUMBER, INTEGER, BOOLEAN, LIST, ANY, TEXT_OR_NUMBER = (
    "text",
    "number",
    "integer",
    "boolean",
    "list",
    "any",
    "text_or_number",
)
_ALLOWED_JSON_TYPES = {
    TEXT: ("VARCHAR", "NULL"),
    NUMBER: ("BIGINT", "UBIGINT", "DOUBLE", "NULL"),
    INTEGER: ("BIGINT", "UBIGINT", "DOUBLE", "NULL"),
    BOOLEAN: ("BOOLEAN", "NULL"),
    LIST: ("ARRAY", "NULL"),
    TEXT_OR_NUMBER: ("VARCHAR", "BIGINT", "UBIGINT", "DOUBLE", "NULL"),
}
_EXPECTED = {
    TEXT: "text",
    NUMBER: "a number",
    INTEGER: "a number",
    BOOLEAN: "true/false",
    LIST: "a list",
    TEXT_OR_NUMBER: "text or a number",
}

_FLAGS = (
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
    "accepts_medicaid",
    "accepts_medicare",
    "accepts_private_insurance",
    "accepts_cash_self_payment",
    "sliding_fee_scale",
    "state_license",
)
_COMMUNITY_FIELDS: dict[str, str] = {
    "organization_name": TEXT,
    "trade_names": LIST,
    "address": TEXT,
    "city": TEXT,
    "state": TEXT,
    "phone": TEXT,
    "website": TEXT,
    "email": TEXT,
    "certification_status": TEXT,
    "services": LIST,
    "funding_sources": LIST,
    "annual_reach": TEXT_OR_NUMBER,
    "target_populations": LIST,
    "operating_hours": ANY,
    "leadership": TEXT,
    "social_media": ANY,
    "id": TEXT_OR_NUMBER,
    "org_id": TEXT_OR_NUMBER,
}


@dataclasses.dataclass(frozen=True)
class DirectorySource:
    """One JSON source: where it lands, its array key, its fields and the staged table."""

    name: str  # treatment_centers, narr_residences, recovery_centers, recovery_organizations
    file_stem: str
    array_key: str
    name_field: str
    fields: dict[str, str]
    org_type: str

    @property
    def table(self) -> str:
        return f"directory.stg_{self.name}"

    @property
    def rejected_table(self) -> str:
        return f"directory.stg_{self.name}_rejected"

    @property
    def view(self) -> str:
        return f"landing_{self.name}"

    @property
    def patterns(self) -> tuple[str, str]:
        return (f"{self.file_stem}.json", f"{self.file_stem}.part-*.json")


TREATMENT_CENTERS = DirectorySource(
    name="treatment_centers",
    file_stem="treatment_centers_master",
    array_key="all_facilities",
    name_field="facility_name",
    org_type="treatment_center",
    fields={
        "facility_name": TEXT,
        "dba_names": LIST,
        "address_line1": TEXT,
        "address_line2": TEXT,
        "city": TEXT,
        "state": TEXT,
        "zip_code": TEXT_OR_NUMBER,
        "county": TEXT,
        "latitude": NUMBER,
        "longitude": NUMBER,
        "phone": TEXT,
        "fax": TEXT,
        "website": TEXT,
        "email": TEXT,
        "data_source": TEXT,
        "extraction_date": TEXT,
        "last_updated": TEXT,
        "license_numbers": LIST,
        "federal_certification": TEXT,
        "accreditations": LIST,
        "level_of_care": TEXT,
        **dict.fromkeys(_FLAGS, BOOLEAN),
        "minimum_age": INTEGER,
        "maximum_age": INTEGER,
        "outpatient_capacity": INTEGER,
        "residential_capacity": INTEGER,
        "inpatient_capacity": INTEGER,
        "current_outpatient_census": INTEGER,
        "quality_score": NUMBER,
        "last_inspection_date": TEXT,
        "accreditation_status": TEXT,
        "id": TEXT_OR_NUMBER,
        "org_id": TEXT_OR_NUMBER,
    },
)
NARR_RESIDENCES = DirectorySource(
    name="narr_residences",
    file_stem="master_directory",
    array_key="all_organizations",
    name_field="name",
    org_type="narr_residence",
    fields={
        "name": TEXT,
        "address": TEXT,
        "state": TEXT,
        "phone": TEXT,
        "website": TEXT,
        "email": TEXT,
        "certification_level": TEXT,
        "capacity": TEXT_OR_NUMBER,
        "affiliate_website": TEXT,
        "specializations": LIST,
        "gender_specific": TEXT,
        "data_source": TEXT,
        "last_update": TEXT,
        "id": TEXT_OR_NUMBER,
        "org_id": TEXT_OR_NUMBER,
    },
)
RECOVERY_CENTERS = DirectorySource(
    name="recovery_centers",
    file_stem="recovery_community_centers_master",
    array_key="all_centers",
    name_field="organization_name",
    org_type="recovery_center",
    fields=_COMMUNITY_FIELDS,
)
RECOVERY_ORGANIZATIONS = DirectorySource(
    name="recovery_organizations",
    file_stem="recovery_community_organizations_master",
    array_key="all_organizations",
    name_field="organization_name",
    org_type="recovery_organization",
    fields=_COMMUNITY_FIELDS,
)
SOURCES = (TREATMENT_CENTERS, NARR_RESIDENCES, RECOVERY_CENTERS, RECOVERY_ORGANIZATIONS)

# "street, city, ST 12345": the trailing state (and optional ZIP) of a one-string address.
_ADDRESS_TAIL = r",\s*([A-Za-z]{2})\s*([0-9]{4,5}(-[0-9]{4})?)?\s*$"
_ZIP_TAIL = r"(^|,)\s*[A-Za-z]{2}\s+([0-9]{4,5}(-[0-9]{4})?)\s*$"


def _typed(value: str, kind: str) -> str:
    """The typed value of one field, given its extracted JSON ``value``."""
    text = f"nullif(trim({value} ->> '$'), '')"
    if kind in (TEXT, TEXT_OR_NUMBER):
        return text
    if kind == NUMBER:
        return f"TRY_CAST({value} ->> '$' AS DOUBLE)"
    if kind == INTEGER:
        return f"CAST(round(TRY_CAST({value} ->> '$' AS DOUBLE)) AS INTEGER)"
    if kind == BOOLEAN:
        return f"TRY_CAST({value} ->> '$' AS BOOLEAN)"
    if kind == LIST:
        return f"coalesce(from_json({value}, '[\"VARCHAR\"]'), [])"
    return f"CAST({value} AS VARCHAR)"


def _value(source: DirectorySource, field: str) -> str:
    """The JSON value of ``field``, from the list extracted with one parse per record."""
    return f"vals[{list(source.fields).index(field) + 1}]"


def _problems(source: DirectorySource) -> str:
    """CASE expression naming the first reason a record cannot be used (NULL when fine)."""
    name = _value(source, source.name_field)
    whens = [
        "WHEN json_type(rec) <> 'OBJECT' THEN 'record is not a JSON object (' || json_type(rec) || ')'",
        f"WHEN coalesce(json_type({name}), 'NULL') NOT IN ('VARCHAR', 'NULL') "
        f"THEN '{source.name_field}: expected text, got ' || json_type({name})",
        f"WHEN nullif(trim({name} ->> '$'), '') IS NULL THEN 'missing {source.name_field}'",
    ]
    for field, kind in source.fields.items():
        if kind == ANY or field == source.name_field:
            continue
        value = _value(source, field)
        allowed = ", ".join(f"'{t}'" for t in _ALLOWED_JSON_TYPES[kind])
        whens.append(
            f"WHEN coalesce(json_type({value}), 'NULL') NOT IN ({allowed}) "
            f"THEN '{field}: expected {_EXPECTED[kind]}, got ' || json_type({value})"
        )
    return "CASE " + "\n        ".join(whens) + " END"


def _derived(source: DirectorySource) -> dict[str, str]:
    """Normalized columns every staged source has: name, street, city, state_raw, zip_raw."""
    if source is TREATMENT_CENTERS:
        return {
            "org_name": "trim(facility_name)",
            "street": "address_line1",
            "city_name": "trim(city)",
            "state_raw": "state",
            "zip_raw": "zip_code",
        }
    if source is NARR_RESIDENCES:
        # One string "street, city, ST 12345", often with parts missing.
        parts = "string_split(address, ',')"
        n = f"array_length({parts})"
        return {
            "org_name": "trim(name)",
            "street": f"CASE WHEN {n} >= 3 OR ({n} = 2 AND regexp_matches(trim({parts}[1]), '^[0-9]')) "
            f"THEN nullif(trim({parts}[1]), '') END",
            "city_name": f"CASE WHEN {n} >= 3 THEN nullif(trim({parts}[{n} - 1]), '') "
            f"WHEN {n} = 2 AND NOT regexp_matches(trim({parts}[1]), '^[0-9]') "
            f"THEN nullif(trim({parts}[1]), '') END",
            "state_raw": f"coalesce(state, nullif(regexp_extract(address, '{_ADDRESS_TAIL}', 1), ''))",
            "zip_raw": f"nullif(regexp_extract(address, '{_ZIP_TAIL}', 2), '')",
        }
    # Recovery community centers and organizations: address is a street, or a whole address.
    return {
        "org_name": "trim(organization_name)",
        "street": f"CASE WHEN regexp_matches(address, '{_ADDRESS_TAIL}') "
        "THEN nullif(trim(split_part(address, ',', 1)), '') ELSE address END",
        "city_name": "trim(city)",
        "state_raw": "state",
        "zip_raw": f"nullif(regexp_extract(address, '{_ZIP_TAIL}', 2), '')",
    }


def staged_columns(source: DirectorySource) -> list[str]:
    """Columns of the staged table, in order."""
    return [
        "source_file",
        "record_position",
        *source.fields,
        *_derived(source),
        "state_usps",
        "zip5",
    ]


def arrays_sql(source: DirectorySource) -> str:
    """Each source file's array of records (read once; a missing array is NULL)."""
    key = source.array_key
    return (
        f"SELECT source_file, CASE WHEN json_type(json, '$.{key}') = 'ARRAY' "
        f"THEN json_extract(json, '$.{key}[*]') END AS records FROM {source.view}"
    )


def parse_sql(source: DirectorySource, arrays: str) -> str:
    """Every source record with its typed fields and its reject reason (NULL = usable)."""
    typed = ",\n        ".join(
        f"{_typed(_value(source, field), kind)} AS {field}" for field, kind in source.fields.items()
    )
    paths = ", ".join(f"'$.{field}'" for field in source.fields)
    derived = ",\n        ".join(f"{expr} AS {col}" for col, expr in _derived(source).items())
    return f"""
WITH records AS (
    SELECT
        source_file,
        generate_subscripts(records, 1) AS record_position,
        unnest(records) AS rec
    FROM {arrays}
),
extracted AS (
    -- one JSON parse per record: every field's value at once (NULL when absent)
    SELECT *, CASE WHEN json_type(rec) = 'OBJECT' THEN json_extract(rec, [{paths}]) END AS vals
    FROM records
),
typed AS (
    SELECT
        source_file,
        record_position,
        rec,
        {_problems(source)} AS type_problem,
        {typed}
    FROM extracted
),
normalized AS (
    SELECT *,
        {derived}
    FROM typed
),
judged AS (
    SELECT
        n.*,
        s.state_usps,
        {zip5_sql("n.zip_raw")} AS zip5,
        coalesce(
            n.type_problem,
            CASE WHEN s.state_usps IS NULL
                 THEN 'unrecognized state: ' || coalesce('"' || n.state_raw || '"', '(missing)') END
        ) AS reject_reason
    FROM normalized AS n
    LEFT JOIN ({state_lookup_sql()}) AS s ON s.state_key = lower(trim(n.state_raw))
)
-- the raw record is kept only for the quarantine (it doubles the memory otherwise)
SELECT * EXCLUDE (rec),
    CASE WHEN reject_reason IS NOT NULL THEN CAST(rec AS VARCHAR) END AS raw_record
FROM judged
"""


def staged_sql(source: DirectorySource, parsed: str) -> str:
    columns = ", ".join(staged_columns(source))
    return (
        f"SELECT {columns} FROM {parsed} WHERE reject_reason IS NULL "
        "ORDER BY source_file, record_position"
    )


def rejected_sql(source: DirectorySource, parsed: str) -> str:
    return f"""
SELECT
    '{source.name}' AS source_name,
    source_file,
    record_position,
    raw_record,
    reject_reason AS reason
FROM {parsed}
WHERE reject_reason IS NOT NULL
ORDER BY source_file, record_position
"""


def file_counts_sql(arrays: str) -> str:
    """Records per source file, counted from the arrays' lengths (independent of unnest)."""
    return f"SELECT source_file, array_length(records) FROM {arrays} ORDER BY 1"
