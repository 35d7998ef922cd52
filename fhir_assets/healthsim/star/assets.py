"""The OHDSI-style star schema in ``analytics``, built in-engine from the canonical tables.

Dimensions carry an unknown member with key -1; every fact foreign key is a dimension key
or -1, and every date key is YYYYMMDD in ``dim_date``. The SQL is in ``sql/<table>.sql``.
"""

import dataclasses

import dagster as dg

from fhir_assets.healthsim.canonical import HEALTHSIM
from resources import Warehouse, WarehouseSession
from resources.assets import WarehouseAssets
from resources.sql_files import load_sql

ANALYTICS = WarehouseAssets(group_name="analytics", owners=HEALTHSIM.owners)
STAR_SQL_PACKAGE = "fhir_assets.healthsim.star.sql"
DIRECTORY_ORGANIZATIONS = "directory.organizations"


def _hs(*names: str) -> tuple[dg.AssetKey, ...]:
    return tuple(dg.AssetKey(["healthsim", n]) for n in names)


def _an(*names: str) -> tuple[dg.AssetKey, ...]:
    return tuple(dg.AssetKey(["analytics", n]) for n in names)


@dataclasses.dataclass(frozen=True)
class StarTable:
    name: str
    description: str
    deps: tuple[dg.AssetKey, ...]


STAR_TABLES = (
    StarTable(
        "dim_date",
        "Calendar days (key YYYYMMDD) spanning every date the facts refer to, with year, "
        "quarter, month, weekday and weekend flag; -1 is the unknown date.",
        _hs("encounters", "conditions", "claims", "procedures", "medications"),
    ),
    StarTable(
        "dim_geography",
        "US counties (key = county FIPS as a number) with the Social Vulnerability Index "
        "rank and quartile and the Area Deprivation Index, from reference.ref_geography.",
        (dg.AssetKey(["reference", "ref_geography"]),),
    ),
    StarTable(
        "dim_patient",
        "Patients with sex, age, age band (0-17, 18-34, 35-49, 50-64, 65+) and home county.",
        (*_hs("patients", "encounters"), *_an("dim_geography")),
    ),
    StarTable(
        "dim_facility",
        "Care organizations where encounters happen; where a recovery-services directory "
        "organization lies within 250 m, it is linked (directory_org_id).",
        (*_hs("organizations"), dg.AssetKey(["directory", "organizations"])),
    ),
    StarTable(
        "dim_diagnosis",
        "Diagnosis codes (SNOMED CT) from conditions, claims and encounter reasons.",
        _hs("conditions", "claims", "encounters"),
    ),
    StarTable(
        "dim_procedure",
        "Procedure codes (SNOMED CT) performed in encounters.",
        _hs("procedures"),
    ),
    StarTable(
        "dim_medication",
        "Medication codes (RxNorm) ordered in encounters.",
        _hs("medications"),
    ),
    StarTable(
        "fact_encounters",
        "One row per encounter: patient, facility, county, dates, class, length of stay, "
        "30-day readmission flag (on the index inpatient stay), mortality flag (death during "
        "or within 30 days after) and costs.",
        (*_hs("encounters"), *_an("dim_patient", "dim_facility", "dim_diagnosis", "dim_date")),
    ),
    StarTable(
        "fact_diagnoses",
        "One row per recorded diagnosis: patient, diagnosis, facility, county, onset and "
        "resolution dates.",
        (
            *_hs("conditions", "encounters"),
            *_an("dim_patient", "dim_facility", "dim_diagnosis", "dim_date"),
        ),
    ),
    StarTable(
        "fact_claims",
        "One row per claim: patient, facility, county, primary diagnosis, service date, and "
        "billed, paid and outstanding amounts to the cent.",
        (
            *_hs("claims", "encounters"),
            *_an("dim_patient", "dim_facility", "dim_diagnosis", "dim_date"),
        ),
    ),
    StarTable(
        "fact_procedures",
        "One row per procedure performed: patient, procedure, facility, county, date, cost.",
        (
            *_hs("procedures", "encounters"),
            *_an("dim_patient", "dim_facility", "dim_procedure", "dim_date"),
        ),
    ),
    StarTable(
        "fact_medications",
        "One row per medication order: patient, medication, facility, county, start date, "
        "dispenses and costs.",
        (
            *_hs("medications", "encounters"),
            *_an("dim_patient", "dim_facility", "dim_medication", "dim_date"),
        ),
    ),
)


def register_facility_directory(session: WarehouseSession) -> bool:
    """The ``facility_directory`` view: located directory organizations, or none."""
    if session.table_exists(DIRECTORY_ORGANIZATIONS):
        session.execute(
            "CREATE OR REPLACE TEMP VIEW facility_directory AS SELECT org_id, name, "
            f"latitude, longitude FROM {DIRECTORY_ORGANIZATIONS} "
            "WHERE latitude IS NOT NULL AND longitude IS NOT NULL"
        )
        return True
    session.execute(
        "CREATE OR REPLACE TEMP VIEW facility_directory AS SELECT CAST(NULL AS VARCHAR) AS "
        "org_id, CAST(NULL AS VARCHAR) AS name, CAST(NULL AS DOUBLE) AS latitude, "
        "CAST(NULL AS DOUBLE) AS longitude WHERE 1 = 0"
    )
    return False


def build_star_asset(table: StarTable) -> dg.AssetsDefinition:
    target = f"analytics.{table.name}"

    @ANALYTICS.asset(
        ["analytics", table.name],
        sql=load_sql(STAR_SQL_PACKAGE, table.name),
        deps=list(table.deps),
        description=table.description,
    )
    def _star(context: dg.AssetExecutionContext, warehouse: Warehouse) -> dg.MaterializeResult:
        extra: dict[str, object] = {}
        with warehouse.session() as session:
            if table.name == "dim_facility":
                found = register_facility_directory(session)
                if not found:
                    context.log.warning(
                        f"{DIRECTORY_ORGANIZATIONS} is not loaded: no facility is matched "
                        "to the directory"
                    )
            summary = session.create_table_as(target, load_sql(STAR_SQL_PACKAGE, table.name))
            if table.name == "dim_facility":
                extra["matched_to_directory"] = int(
                    session.fetch_rows(f"SELECT count(directory_org_id) FROM {target}")[0][0]
                )
            if table.name == "fact_encounters":
                readmissions, deaths = session.fetch_rows(
                    f"SELECT count(*) FILTER (WHERE readmission_30d), "
                    f"count(*) FILTER (WHERE mortality_flag) FROM {target}"
                )[0]
                extra.update(readmissions_30d=int(readmissions), mortality_flags=int(deaths))
        context.log.info(f"Built {target}: {summary.row_count} rows")
        return dg.MaterializeResult(metadata={**summary.metadata(), **extra})

    return _star


STAR_ASSETS = [build_star_asset(t) for t in STAR_TABLES]
