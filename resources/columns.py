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
