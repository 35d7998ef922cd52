"""Column descriptions declared with the assets, so the UI shows them before any run.

Each domain keeps a ``columns.json`` beside its code: ``{"schema.table": {"column":
["type", "description"], ...}, ...}``. :func:`with_column_schemas` (applied once by the code
location) puts it on each asset as ``dagster/column_schema`` definition metadata. The UI
shows that schema before the first materialization, and afterwards merges these
descriptions into the schema each materialization reports.

``narr-platform columns --warehouse PATH`` (``narr_platform/column_catalog.py``) refreshes
the files from a built warehouse: it adds new columns (described by
:func:`describe_column`'s rules), drops removed ones and keeps every description written
by hand.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from importlib import resources as package_files

import dagster as dg

COLUMN_SCHEMA_KEY = "dagster/column_schema"
CATALOG_FILE = "columns.json"

Catalog = dict[str, dict[str, list[str]]]


def load_catalog(package: str) -> Catalog:
    """The ``columns.json`` of a domain package (empty when it has none)."""
    path = package_files.files(package).joinpath(CATALOG_FILE)
    if not path.is_file():
        return {}
    return json.loads(path.read_text())


def table_schema(columns: Mapping[str, list[str]]) -> dg.TableSchema:
    return dg.TableSchema(
        columns=[
            dg.TableColumn(name=name, type=dtype, description=description)
            for name, (dtype, description) in columns.items()
        ]
    )


def table_of(key: dg.AssetKey) -> str | None:
    """``schema.table`` for an asset key ``[schema, table]`` (the platform's convention)."""
    return ".".join(key.path) if len(key.path) == 2 else None


def with_column_schemas(defs: dg.Definitions, catalog: Catalog) -> dg.Definitions:
    """``defs`` with each cataloged table's column schema on its asset (declared schemas win)."""

    def add(spec: dg.AssetSpec) -> dg.AssetSpec:
        table = table_of(spec.key)
        if table not in catalog or COLUMN_SCHEMA_KEY in (spec.metadata or {}):
            return spec
        return spec.merge_attributes(metadata={COLUMN_SCHEMA_KEY: table_schema(catalog[table])})

    assets = [
        asset.map_asset_specs(add)
        if isinstance(asset, dg.AssetsDefinition)
        and any(table_of(k) in catalog for k in asset.keys)
        else asset
        for asset in defs.assets or []
    ]
    return dg.Definitions(
        assets=assets,
        asset_checks=defs.asset_checks,
        jobs=defs.jobs,
        schedules=defs.schedules,
        sensors=defs.sensors,
        resources=defs.resources,
        executor=defs.executor,
        loggers=defs.loggers,
        metadata=defs.metadata,
    )


# -- rules for describing a column from its name (used when a column is first cataloged) --
GLOSSARY: dict[str, str] = {
    "county_fips": "5-digit county FIPS code (state + county), zero-padded.",
    "state_fips": "2-digit state FIPS code, zero-padded.",
    "tract_fips": "11-digit census tract FIPS code, zero-padded.",
    "blockgroup_fips": "12-digit census block group FIPS code, zero-padded.",
    "stcnty": "5-digit county FIPS code as CDC's SVI file names it (STCNTY).",
    "fips": "FIPS code of the geography, zero-padded.",
    "state_usps": "Two-letter USPS state code.",
    "usps": "Two-letter USPS state code.",
    "state": "Two-letter USPS state code.",
    "state_name": "Full state name.",
    "county_name": "County name.",
    "county": "County name.",
    "city": "City.",
    "zip": "5-digit ZIP code (leading zeros kept).",
    "zip_code": "5-digit ZIP code (leading zeros kept).",
    "postal_code": "ZIP code as landed (leading zeros kept).",
    "address": "Street address.",
    "latitude": "Latitude in decimal degrees (WGS 84).",
    "longitude": "Longitude in decimal degrees (WGS 84).",
    "lat": "Latitude in decimal degrees (WGS 84).",
    "lon": "Longitude in decimal degrees (WGS 84).",
    "geohash": "Geohash of the location (nearby search).",
    "name": "Name.",
    "phone": "Phone number.",
    "email": "E-mail address.",
    "website": "Web address.",
    "gender": "Administrative gender (FHIR: male, female, other, unknown).",
    "sex": "Sex at birth as recorded (M/F).",
    "birth_date": "Date of birth.",
    "birthdate": "Date of birth.",
    "death_date": "Date of death (empty when alive).",
    "deathdate": "Date of death (empty when alive).",
    "race": "Race as recorded in the source.",
    "ethnicity": "Ethnicity as recorded in the source.",
    "first_name": "Given name.",
    "last_name": "Family name.",
    "patient_id": "Patient identifier from the source.",
    "encounter_id": "Encounter identifier (UUID).",
    "organization_id": "Organization identifier (UUID).",
    "org_id": "Directory organization identifier.",
    "id": "Identifier of the row's entity (the FHIR resource id for FHIR tables).",
    "resource_type": "FHIR resource type.",
    "resource_json": "The FHIR R4 resource as JSON text.",
    "resource": "The FHIR R4 resource as JSON text.",
    "source": "Which landing source the row came from.",
    "source_file": "The landing file the row came from.",
    "source_row": "Row number within its landing file.",
    "source_format": "Format of the landing file (csv, parquet, json, ndjson, xlsx).",
    "source_kind": "Layout of the landing file (generic or synthea).",
    "reject_reason": "Why the row was rejected; empty when it was accepted.",
    "reason": "Why the row was rejected.",
    "description": "Human-readable description.",
    "code": "Code of the concept (SNOMED CT, RxNorm, LOINC or CVX per table).",
    "year": "Data year.",
    "measure_id": "CDC PLACES measure identifier (e.g. DIABETES).",
    "measure": "CDC PLACES measure name.",
    "data_value_type_id": "CrdPrv (crude prevalence) or AgeAdjPrv (age-adjusted prevalence).",
    "data_value": "Estimate (percent of adults).",
    "low_confidence_limit": "Lower 95% confidence limit of the estimate.",
    "high_confidence_limit": "Upper 95% confidence limit of the estimate.",
    "total_population": "Total population of the geography.",
    "svi_rank_scope": "Whether SVI ranks are within the state or national.",
    "adi_national_rank": "Area Deprivation Index national percentile rank (1-100).",
    "adi_state_rank": "Area Deprivation Index state decile (1-10).",
    "suppression_code": "ADI suppression code (GQ, PH, GQ-PH, QDI) when no rank is given.",
    "created_at": "When the row was created (UTC).",
    "updated_at": "When the row was last updated (UTC).",
    "applied_at": "When the migration was applied (UTC).",
    "version": "Schema version number.",
    "tags": "Tags attached to the row.",
    "data": "The entity as JSON.",
    "entity_type": "Kind of entity (patients, encounters, ...).",
    "entity_id": "Identifier (UUID) of the entity.",
    "scenario_id": "Scenario identifier.",
    "tag": "A tag name.",
    "city_name": "City name as the source gives it.",
    "street": "Street address (first line).",
    "address_line": "Street address line.",
    "address_line1": "Street address, first line.",
    "address_line2": "Street address, second line (suite, unit).",
    "zip5": "5-digit ZIP code (leading zeros kept).",
    "zip_plus4": "ZIP+4 code when the source has it.",
    "country": "Country.",
    "fax": "Fax number.",
    "category": "Category of the entry as the source codes it.",
    "status": "Status as the source records it.",
    "field_issues": "Problems found in individual fields of the record (kept, not rejected).",
    "record_position": "Position of the record in its source file's array (0-based).",
    "data_source": "The source listing the record comes from.",
    "org_type": "Organization type: treatment center, NARR residence, recovery community "
    "center or recovery community organization.",
    "org_name": "Organization name as the source gives it.",
    "organization_name": "Organization name.",
    "facility_name": "Facility name.",
    "level_of_care": "Levels of care offered (outpatient, residential, inpatient, ...).",
    "opioid_treatment_program": "True when the facility is a certified opioid treatment program.",
    "medication_assisted_treatment": "True when medication for opioid use disorder is offered.",
    "sliding_fee_scale": "True when fees follow a sliding scale by income.",
    "trade_names": "Other names the organization trades under.",
    "dba_names": "Doing-business-as names.",
    "certification_status": "Certification status with the certifying body.",
    "certification_level": "NARR certification level (I-IV).",
    "services": "Services offered.",
    "funding_sources": "Where the organization's funding comes from.",
    "target_populations": "Populations the organization focuses on.",
    "operating_hours": "Opening hours as published.",
    "leadership": "Named leaders of the organization.",
    "social_media": "Social media accounts.",
    "family_name": "Family name (FHIR name.family).",
    "given_name": "Given names (FHIR name.given).",
    "code_system": "Code system of the code (SNOMED CT, RxNorm, LOINC, CVX).",
    "identifier_system": "System URI of the patient identifier.",
    "encounter_class": "Encounter class (ambulatory, emergency, inpatient, wellness, ...).",
    "value_numeric": "Observation value when numeric.",
    "value_text": "Observation value when text.",
    "units": "Unit of the observation value (UCUM).",
    "speciality": "Clinical specialty.",
    "reason_code": "SNOMED CT code of the reason for the encounter.",
    "reason_description": "Reason for the encounter, as text.",
    "race_code": "CDC race code (US Core race extension).",
    "ethnicity_code": "CDC ethnicity code (US Core ethnicity extension).",
    "name_prefix": "Name prefix (Mr., Ms., Dr.).",
    "name_suffix": "Name suffix (Jr., MD).",
    "svi_overall_rank": "SVI overall percentile rank (RPL_THEMES, 0-1) of the county.",
    "svi_quartile": "Quartile (1-4) of the county's SVI overall rank; 4 = most vulnerable.",
    "adi_national_rank_weighted": "Population-weighted mean ADI national rank of the county's "
    "block groups.",
    "adi_ranked_blockgroups": "Number of the county's block groups with an ADI rank.",
    "adi_weighting": "How the county ADI was weighted (population or unweighted).",
    "county_source": "Which source supplied the county (package list, SVI, PLACES).",
    "gisjoin": "NHGIS GISJOIN identifier of the block group.",
    "st": "2-digit state FIPS code as CDC's SVI file names it (ST).",
    "st_abbr": "Two-letter state code as CDC's SVI file names it (ST_ABBR).",
    "location": "Location name as CDC's SVI file gives it.",
    "area_sqmi": "Land area in square miles.",
    "short_question_text": "Short name of the PLACES measure.",
    "data_value_type": "Type of the PLACES value (crude or age-adjusted prevalence).",
    "data_value_unit": "Unit of the PLACES value (%).",
    "footnote_symbol": "PLACES footnote symbol, when the value is suppressed or flagged.",
    "footnote": "PLACES footnote text.",
    "total_population_18plus": "Adult (18+) population of the geography.",
    "geolocation": "Centroid of the geography (POINT text as published).",
    "age": "Age in whole years (at death, or today).",
    "age_band": "Age band: 0-17, 18-34, 35-49, 50-64, 65+.",
    "readmission_30d": "True on an inpatient stay followed by another inpatient admission "
    "within 30 days of discharge.",
    "length_of_stay_days": "Length of stay in days (discharge minus admission).",
    "duration_days": "Days from onset to resolution (empty while active).",
    "dispenses": "Number of dispenses of the medication.",
    "quarter": "Calendar quarter (1-4).",
    "month": "Month number (1-12).",
    "month_name": "Month name.",
    "day_of_month": "Day of the month (1-31).",
    "iso_day_of_week": "ISO day of week (1 = Monday, 7 = Sunday).",
    "day_name": "Day name.",
    "marital_status": "Marital status (M, S, ...).",
    "healthcare_expenses": "Lifetime healthcare expenses in US dollars (Synthea).",
    "severity": "Severity as recorded.",
    "metadata": "Additional attributes as JSON.",
    "scope": "What the row summarizes (all records, or one source file).",
    "total_records": "Number of landed patient records.",
    "mapped": "Number of records that became FHIR Patient resources.",
    "rejected": "Number of rejected records.",
    "file_rank": "Recency rank of the file (a newer file's record wins a duplicate id).",
    "reject_detail": "Detail of the rejection (the offending value).",
    "detail": "Detail of the rejection (the offending value).",
    "zip_issue": "What is wrong with the ZIP code, if anything.",
    "zip_state_issue": "Whether the ZIP code belongs to the stated state.",
    "raw_record": "The source record as JSON.",
    "source_name": "Which directory source the record came from.",
    "distance_miles": "Distance between the two organizations in miles.",
    "strength": "Strength of the relationship (closer and more similar is stronger).",
    "neighbour_rank": "Rank of the related organization by distance (1 = nearest).",
}

_SVI_PREFIX = {
    "e": "Estimate",
    "m": "Margin of error of the estimate",
    "ep": "Percentage estimate",
    "mp": "Margin of error of the percentage estimate",
    "epl": "Percentile rank (0-1) of the percentage",
    "spl": "Sum of percentile ranks of theme",
    "rpl": "Percentile ranking (0-1) of theme",
    "f": "Flag (1 = in the 90th percentile) for",
}


def _words(name: str) -> str:
    return re.sub(r"_+", " ", name).strip()


def describe_column(table: str, column: str) -> str:
    """A description from the column's name: the glossary, then naming rules."""
    name = column.lower()
    if name in GLOSSARY:
        return GLOSSARY[name]
    schema, _, short = table.partition(".")
    if schema == "reference" and "svi" in short:
        prefix, _, rest = name.partition("_")
        if prefix in _SVI_PREFIX and rest:
            return f"CDC/ATSDR SVI 2022 {rest.upper()}: {_SVI_PREFIX[prefix]}."
    if name.endswith("_crude_prev"):
        return f"CDC PLACES crude prevalence (%) of {_words(name.removesuffix('_crude_prev'))}."
    if name.endswith("_adj_prev"):
        return (
            f"CDC PLACES age-adjusted prevalence (%) of {_words(name.removesuffix('_adj_prev'))}."
        )
    if name.endswith("_raw"):
        return f"{_words(name.removesuffix('_raw')).capitalize()} exactly as in the source."
    if name.endswith("_text") and schema == "reference":
        return f"{_words(name.removesuffix('_text')).capitalize()} as published (text)."
    if name.startswith("populated_"):
        return f"Number of mapped patients with {_words(name.removeprefix('populated_'))}."
    if name.startswith(("accepts_", "serves_")):
        return f"True when the facility {_words(name)}."
    if name.startswith("search_"):
        return f"{_words(name.removeprefix('search_')).capitalize()}, normalized for search."
    if name.endswith("_complete"):
        return f"Share of organizations with a complete {_words(name.removesuffix('_complete'))}."
    if name.startswith("with_"):
        return f"Number of organizations {_words(name)}."
    if name.startswith("related_"):
        return f"{_words(name.removeprefix('related_')).capitalize()} of the related organization."
    if name.endswith(("_capacity", "_census")):
        return f"{_words(name).capitalize()} (number of people)."
    if name.startswith("zip_"):
        return f"Number of records whose ZIP code is {_words(name.removeprefix('zip_'))}."
    if schema == "directory" and short.startswith("v_"):
        return f"Number of {_words(name)} organizations or services in the group."
    if name.endswith("_code") and schema in ("analytics", "healthsim", "fhir"):
        return f"Code of the {_words(name.removesuffix('_code'))} (SNOMED CT, RxNorm or LOINC)."
    if name.endswith("_name"):
        return f"Name of the {_words(name.removesuffix('_name'))}."
    if name.endswith("_date_key"):
        return f"{_words(name.removesuffix('_key')).capitalize()} as YYYYMMDD, key of dim_date (-1 = unknown)."
    if name.endswith("_key") and schema == "analytics":
        dimension = name.removesuffix("_key")
        if short == f"dim_{dimension}":
            return "Surrogate key of this dimension (-1 is the unknown member)."
        return f"Key of dim_{dimension} (-1 = unknown)."
    if name.endswith("_id"):
        return f"Identifier of the {_words(name.removesuffix('_id'))}."
    if name.endswith(("_date", "_at", "_time")):
        return f"{_words(name).capitalize()} (date/time)."
    if name.startswith(("is_", "has_")) or name.endswith("_flag"):
        return f"True when {_words(name.removeprefix('is_').removeprefix('has_'))}."
    if name.endswith(("_count", "_rows")) or name.startswith("n_"):
        return f"Number of {_words(name.removesuffix('_count').removeprefix('n_'))}."
    if name.endswith(("_cost", "_amount", "_coverage")):
        return f"{_words(name).capitalize()} in US dollars."
    return f"{_words(name).capitalize()}."
