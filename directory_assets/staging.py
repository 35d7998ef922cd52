"""One staging asset per directory source file, each an independent root.

Each reads its JSON file(s) from ``<landing>/directory/`` inside the engine, writes the
usable records to ``directory.stg_<source>`` and the unusable ones, with the raw record
and the reason, to ``directory.stg_<source>_rejected`` (gathered by ``rejected_records``).
"""

from pathlib import Path

import dagster as dg

from directory_assets import staging_sql
from directory_assets.audits import REJECTED_RECORDS, SOURCE_RECORDS, STAGING_AUDITS
from directory_assets.staging_sql import DirectorySource
from resources import LandingZone, Warehouse, WarehouseSession
from resources.assets import WarehouseAssets
from resources.contracts import RefusedFile, record_rejected_files
from resources.landing import source_files_metadata
from resources.publish import audit_specs, audited

DIRECTORY = WarehouseAssets(group_name="directory", owners=["team:directory"])
LANDING_FOLDER = "directory"
# One source object can be large (the treatment-center file is ~55 MB at default scale).
JSON_OPTIONS = {"maximum_object_size": 2_000_000_000}


def source_files(landing: LandingZone, source: DirectorySource) -> list[Path]:
    return landing.files(LANDING_FOLDER, *source.patterns)


#: Landing files refused before reading (empty part files), per source.
REJECTED_FILES = "directory.rejected_files"


def _is_empty(path: Path) -> bool:
    """No JSON document at all: zero bytes or only whitespace."""
    if path.stat().st_size == 0:
        return True
    if path.stat().st_size > 1024:
        return False
    return not path.read_bytes().strip()


def _register(session: WarehouseSession, source: DirectorySource, files: list[Path]) -> None:
    session.register_file_view(source.view, files, "json_document", options=JSON_OPTIONS)


def _first_unreadable(session: WarehouseSession, source: DirectorySource, files: list[Path]) -> str:
    """Name the first file that fails to parse, with the engine's reason."""
    for path in files:
        try:
            _register(session, source, [path])
            session.fetch_rows(f"SELECT count(*) FROM ({staging_sql.arrays_sql(source)}) AS a")
        except Exception as exc:
            return f"{path}: {str(exc).splitlines()[0]}"
    return "the files parse one by one but not together"


def staging_statements(source: DirectorySource, arrays: str, parsed: str) -> list[str]:
    """The SQL a staging asset runs, in order (its code version is their digest)."""
    return [
        staging_sql.arrays_sql(source),
        staging_sql.file_counts_sql(arrays),
        staging_sql.parse_sql(source, arrays),
        staging_sql.staged_sql(source, parsed),
        staging_sql.rejected_sql(source, parsed),
    ]


def stage_source(
    context: dg.AssetExecutionContext,
    warehouse: Warehouse,
    landing: LandingZone,
    source: DirectorySource,
) -> dg.MaterializeResult:
    found = source_files(landing, source)
    if not found:
        raise dg.Failure(
            f"No {source.file_stem}.json in {landing.folder(LANDING_FOLDER)}; "
            "run `narr-platform sample-data`."
        )
    # An empty (part) file is refused and listed, never skipped silently; the rest loads.
    refused = [
        RefusedFile(f"directory {source.name}", path, "empty file (no JSON document)")
        for path in found
        if _is_empty(path)
    ]
    files = [path for path in found if not _is_empty(path)]
    for refusal in refused:
        context.log.warning(f"Refused {refusal.path}: {refusal.message}")
    with warehouse.session() as session:
        record_rejected_files(session, REJECTED_FILES, f"directory {source.name}", refused)
    if not files:
        raise dg.Failure(" | ".join(r.message for r in refused))
    context.log.info(f"Staging {source.name} from {len(files)} file(s)")
    arrays, parsed = f"arrays_{source.name}", f"parsed_{source.name}"
    with warehouse.session() as session:
        try:
            _register(session, source, files)
            session.execute(
                f"CREATE OR REPLACE TEMP TABLE {arrays} AS {staging_sql.arrays_sql(source)}"
            )
            file_counts = session.fetch_rows(staging_sql.file_counts_sql(arrays))
        except Exception as exc:
            raise dg.Failure(
                f"Cannot parse {source.name} source: {_first_unreadable(session, source, files)}"
            ) from exc
        missing = [str(f) for f, n in file_counts if n is None]
        if missing:
            raise dg.Failure(
                f"{', '.join(missing)}: no top-level {source.array_key!r} array "
                f"(expected {{{source.array_key!r}: [...]}})."
            )
        source_records = sum(int(n) for _, n in file_counts)
        context.log.info(f"{source_records} source records; typing and normalizing")
        session.execute(
            f"CREATE OR REPLACE TEMP TABLE {parsed} AS {staging_sql.parse_sql(source, arrays)}"
        )
        session.execute(f"DROP TABLE {arrays}")
        # The quarantine is published with (after) the staged records, never without them.
        session.execute(
            f"CREATE OR REPLACE TEMP TABLE rejected_{source.name} AS "
            f"{staging_sql.rejected_sql(source, parsed)}"
        )
        rejected_count = session.row_count(f"rejected_{source.name}")
        published = session.publish(
            source.table,
            staging_sql.staged_sql(source, parsed),
            STAGING_AUDITS,
            sources=files,
            facts={SOURCE_RECORDS: source_records, REJECTED_RECORDS: rejected_count},
        )
        summary = published.summary
        rejected = session.create_table_as(
            source.rejected_table, f"SELECT * FROM rejected_{source.name}"
        )
        reasons = session.fetch_rows(
            f"SELECT split_part(reason, ':', 1), count(*) FROM {source.rejected_table} "
            "GROUP BY 1 ORDER BY 2 DESC, 1"
        )
    context.log.info(f"{source.name}: {summary.row_count} staged, {rejected.row_count} quarantined")
    return dg.MaterializeResult(
        check_results=published.check_results,
        metadata={
            **summary.metadata(),
            "source_files": dg.MetadataValue.json([str(f) for f in files]),
            "refused_files": dg.MetadataValue.json([r.message for r in refused]),
            **source_files_metadata(files),
            "source_records": dg.MetadataValue.int(source_records),
            "staged_records": dg.MetadataValue.int(summary.row_count),
            "rejected_records": dg.MetadataValue.int(rejected.row_count),
            "rejected_table": dg.MetadataValue.text(source.rejected_table),
            "rejected_by_reason": dg.MetadataValue.json({r: int(n) for r, n in reasons}),
        },
    )


_DESCRIPTIONS = {
    "treatment_centers": "Licensed substance-use treatment facilities (outpatient, residential, "
    "inpatient) as extracted from the national treatment locator, one row per usable source "
    "record, typed, with USPS state and 5-digit ZIP.",
    "narr_residences": "NARR-certified recovery residences (sober living homes) from the NARR "
    "affiliate directory, one row per usable record, the one-string address split into parts.",
    "recovery_centers": "Recovery community centers (RCCs): peer-run places offering recovery "
    "support services, one row per usable source record.",
    "recovery_organizations": "Recovery community organizations (RCOs): independent advocacy "
    "groups led by people in recovery, one row per usable source record.",
}


def build_staging_asset(source: DirectorySource) -> dg.AssetsDefinition:
    arrays, parsed = f"arrays_{source.name}", f"parsed_{source.name}"

    @DIRECTORY.asset(
        ["directory", f"stg_{source.name}"],
        sql=staging_statements(source, arrays, parsed),
        description=_DESCRIPTIONS[source.name]
        + f" Source: `{source.file_stem}.json` (or its numbered part files). Unusable records "
        f"go to `{source.rejected_table}` with the reason.",
        check_specs=audit_specs(["directory", f"stg_{source.name}"], STAGING_AUDITS),
    )
    @audited
    def _staging(
        context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
    ) -> dg.MaterializeResult:
        return stage_source(context, warehouse, landing, source)

    return _staging


STAGING_ASSETS = {source.name: build_staging_asset(source) for source in staging_sql.SOURCES}
