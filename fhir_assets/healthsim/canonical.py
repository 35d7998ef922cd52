"""Canonical HealthSim tables: Synthea-layout CSV from every clinical source, typed in-engine.

One reader for both sources: ``data/landing/synthea/`` (a Synthea export) and
``data/landing/healthsim/`` (the batch generator) hold the same files. Each asset reads its
file from both folders, types it with the SQL beside it (``sql/<entity>.sql``) and writes
``healthsim.<entity>``; rows that cannot be used go to ``healthsim.<entity>_rejected`` with
their reason, so nothing is dropped silently.
"""

import dataclasses

import dagster as dg

from fhir_assets.healthsim.layout import CLINICAL_SOURCES, text_schema
from resources import WAREHOUSE_POOL, LandingZone, Warehouse, WarehouseSession
from resources.assets import WarehouseAssets
from resources.landing import source_files_metadata
from resources.quality_checks import build_row_count_drop_checks
from resources.sql_files import load_sql

HEALTHSIM = WarehouseAssets(group_name="healthsim", owners=["team:healthsim"])
SQL_PACKAGE = "fhir_assets.healthsim.sql"


@dataclasses.dataclass(frozen=True)
class CanonicalEntity:
    name: str
    key_column: str
    description: str
    deps: tuple[str, ...] = ()


ENTITIES = (
    CanonicalEntity(
        "patients",
        "patient_id",
        "One row per synthetic patient (Synthea export or HealthSim generator), keyed by UUID: "
        "demographics, home county resolved to its 5-digit FIPS code through ref_geography "
        "(Synthea gives full state names and county names only), birth and death dates.",
        deps=("reference/ref_geography",),
    ),
    CanonicalEntity(
        "organizations",
        "organization_id",
        "The care organizations (hospitals, clinics) where encounters take place, with "
        "address and coordinates; the facilities of the star schema.",
    ),
    CanonicalEntity(
        "encounters",
        "encounter_id",
        "Every patient visit (wellness, ambulatory, outpatient, emergency, inpatient, urgent "
        "care), keyed by UUID, with start/stop, facility, payer and the encounter's claim cost.",
    ),
    CanonicalEntity(
        "conditions",
        "condition_id",
        "Diagnoses (SNOMED CT) recorded at encounters, with onset and resolution dates.",
    ),
    CanonicalEntity(
        "claims",
        "claim_id",
        "Claims billed for encounters: diagnoses, status, billed amount, paid and "
        "outstanding amounts in dollars and cents.",
        deps=("healthsim/encounters",),
    ),
    CanonicalEntity(
        "medications",
        "medication_id",
        "Medication orders (RxNorm) with dispenses and costs.",
    ),
    CanonicalEntity(
        "procedures",
        "procedure_id",
        "Procedures (SNOMED CT) performed during encounters, with their base cost.",
    ),
)


def build_canonical_asset(entity: CanonicalEntity) -> dg.AssetsDefinition:
    table = f"healthsim.{entity.name}"
    rejected_table = f"healthsim.{entity.name}_rejected"

    @HEALTHSIM.asset(
        ["healthsim", entity.name],
        sql=load_sql(SQL_PACKAGE, entity.name),
        deps=[dg.AssetKey.from_user_string(d) for d in entity.deps],
        description=entity.description,
    )
    def _canonical(
        context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
    ) -> dg.MaterializeResult:
        files = [
            f for source in CLINICAL_SOURCES for f in landing.files(source, f"{entity.name}.csv")
        ]
        if not files:
            folders = ", ".join(str(landing.folder(s)) for s in CLINICAL_SOURCES)
            raise dg.Failure(
                f"No {entity.name}.csv in {folders}; run `narr-platform sample-data` "
                "or drop a Synthea CSV export there."
            )
        context.log.info(
            f"Reading {entity.name} from {len(files)} file(s): {[str(f) for f in files]}"
        )
        with warehouse.session() as session:
            if entity.name == "patients" and not session.table_exists("reference.ref_geography"):
                raise dg.Failure(
                    "reference.ref_geography is not built: materialize reference/ref_geography "
                    "first (patients resolve their county FIPS codes through it)."
                )
            try:
                session.register_file_view(
                    f"landing_{entity.name}",
                    files,
                    "csv",
                    columns=text_schema(entity.name),
                    options={"header": True},
                )
                session.execute(
                    f"CREATE OR REPLACE TEMP VIEW parsed_{entity.name} AS\n{load_sql(SQL_PACKAGE, entity.name)}"
                )
                summary = session.create_table_as(
                    table,
                    f"SELECT * EXCLUDE (reject_reason) FROM parsed_{entity.name} "
                    "WHERE reject_reason IS NULL",
                )
                rejected = session.create_table_as(
                    rejected_table,
                    f"SELECT * FROM parsed_{entity.name} WHERE reject_reason IS NOT NULL",
                )
            except Exception as exc:
                names = ", ".join(str(f) for f in files)
                raise dg.Failure(f"Could not load {entity.name} from {names}: {exc}") from exc
            by_source = dict(
                session.fetch_rows(f"SELECT source, count(*) FROM {table} GROUP BY 1 ORDER BY 1")
            )
            extra: dict[str, object] = {
                "rejected_rows": rejected.row_count,
                "rows_by_source": dg.MetadataValue.json(by_source),
                "source_files": dg.MetadataValue.json([str(f) for f in files]),
                **source_files_metadata(files),
            }
            if entity.name == "patients":
                extra["unmatched_counties"] = int(
                    session.fetch_rows(f"SELECT count(*) FROM {table} WHERE county_fips IS NULL")[
                        0
                    ][0]
                )
        if rejected.row_count:
            context.log.warning(
                f"{rejected.row_count} {entity.name} row(s) rejected; see {rejected_table}"
            )
        context.log.info(f"Loaded {summary.row_count} {entity.name}: {by_source}")
        return dg.MaterializeResult(metadata={**summary.metadata(), **extra})

    return _canonical


CANONICAL_ASSETS = [build_canonical_asset(e) for e in ENTITIES]


def evaluate_key_unique(session: WarehouseSession, entity: CanonicalEntity) -> dg.AssetCheckResult:
    """The entity's key is present on every row and unique."""
    total, distinct, missing = session.fetch_rows(
        f"SELECT count(*), count(DISTINCT {entity.key_column}), "
        f"count(*) - count({entity.key_column}) FROM healthsim.{entity.name}"
    )[0]
    return dg.AssetCheckResult(
        passed=total == distinct + missing and missing == 0,
        metadata={
            "rows": int(total),
            "duplicates": int(total - missing - distinct),
            "missing": int(missing),
        },
    )


def build_key_check(entity: CanonicalEntity) -> dg.AssetChecksDefinition:
    # One check per table: a multi-asset check spanning dependent tables (claims reads
    # encounters) with blocking specs gets split by Dagster into pieces and fails.
    @dg.asset_check(
        asset=dg.AssetKey(["healthsim", entity.name]),
        name=f"{entity.name}_key_unique",
        blocking=True,
        pool=WAREHOUSE_POOL,
        description=f"{entity.key_column} is present and unique in healthsim.{entity.name}.",
    )
    def _key_unique(warehouse: Warehouse) -> dg.AssetCheckResult:
        with warehouse.session() as session:
            return evaluate_key_unique(session, entity)

    return _key_unique


KEY_CHECKS = [build_key_check(e) for e in ENTITIES]

#: The shared load-to-load guard (resources.quality_checks) on every canonical table.
ROW_COUNT_DROP_CHECKS = build_row_count_drop_checks(
    [dg.AssetKey(["healthsim", e.name]) for e in ENTITIES], blocking=False
)
