"""Source layouts of the reference files and the header check run before anything loads.

A landed file is loaded with an explicit, positional schema, so its header must be exactly
the expected columns in the expected order. :func:`screen_headers` reads only the first
line of each file (byte-order mark stripped) and refuses a file whose header differs,
naming the missing, unexpected or reordered columns, before the engine reads a single row;
the refused files are listed in ``reference.rejected_files`` and the others load.
"""

from __future__ import annotations

import contextlib
import csv
from collections.abc import Iterator, Sequence
from pathlib import Path

import dagster as dg

from reference_assets.svi_layout import SVI_2022_SCHEMA
from resources.assets import WarehouseAssets
from resources.contracts import RefusedFile, record_rejected_files
from resources.warehouse import WarehouseSession

#: The reference domain's asset decorator (group, owners, warehouse pool, kinds).
# The reference domain owns its tables (the platform team owns operations).
REFERENCE = WarehouseAssets(group_name="reference", owners=["team:reference"])

PLACES_SOURCE = "reference/places"
SVI_SOURCE = "reference/svi"
ADI_SOURCE = "reference/adi"

#: CDC PLACES county file, long format (one row per county, measure and value type).
PLACES_COUNTY_SCHEMA: dict[str, str] = {
    "Year": "INTEGER",
    "StateAbbr": "VARCHAR",
    "StateDesc": "VARCHAR",
    "LocationName": "VARCHAR",
    "DataSource": "VARCHAR",
    "Category": "VARCHAR",
    "Measure": "VARCHAR",
    "Data_Value_Unit": "VARCHAR",
    "Data_Value_Type": "VARCHAR",
    "Data_Value": "DOUBLE",
    "Data_Value_Footnote_Symbol": "VARCHAR",
    "Data_Value_Footnote": "VARCHAR",
    "Low_Confidence_Limit": "DOUBLE",
    "High_Confidence_Limit": "DOUBLE",
    "TotalPopulation": "BIGINT",
    "TotalPop18plus": "BIGINT",
    "LocationID": "VARCHAR",
    "CategoryID": "VARCHAR",
    "MeasureId": "VARCHAR",
    "DataValueTypeID": "VARCHAR",
    "Short_Question_Text": "VARCHAR",
    "Geolocation": "VARCHAR",
}

#: CDC PLACES tract file: the county layout plus CountyName and CountyFIPS after StateDesc.
PLACES_TRACT_SCHEMA: dict[str, str] = {
    **{k: v for k, v in PLACES_COUNTY_SCHEMA.items() if k in ("Year", "StateAbbr", "StateDesc")},
    "CountyName": "VARCHAR",
    "CountyFIPS": "VARCHAR",
    **{
        k: v for k, v in PLACES_COUNTY_SCHEMA.items() if k not in ("Year", "StateAbbr", "StateDesc")
    },
}

#: Neighborhood Atlas ADI, block groups. Ranks are text: a number or a suppression code.
ADI_SCHEMA: dict[str, str] = {
    "GISJOIN": "VARCHAR",
    "FIPS": "VARCHAR",
    "ADI_NATRANK": "VARCHAR",
    "ADI_STATERNK": "VARCHAR",
}

SVI_SCHEMA: dict[str, str] = SVI_2022_SCHEMA

#: Suppression codes the Neighborhood Atlas writes instead of a rank.
ADI_SUPPRESSION_CODES: tuple[str, ...] = ("GQ", "PH", "GQ-PH", "QDI")


def zero_pad(column: str, width: int) -> str:
    """SQL restoring a FIPS code's lost leading zeros; never truncates a longer value.

    (``lpad`` alone would cut a too-long code to ``width``; left as is, the FIPS check
    reports it instead.)
    """
    value = f"trim({column})"
    return f"CASE WHEN length({value}) < {width} THEN lpad({value}, {width}, '0') ELSE {value} END"


def read_header(path: Path) -> list[str]:
    """The column names on the first line of a CSV file, byte-order mark removed."""
    with open(path, encoding="utf-8-sig", newline="") as handle:
        row = next(csv.reader(handle), None)
    return [name.strip() for name in row] if row else []


def header_problems(found: Sequence[str], expected: Sequence[str]) -> list[str]:
    """Human-readable differences between a header and the expected columns (empty if equal)."""
    if list(found) == list(expected):
        return []
    problems = []
    missing = [c for c in expected if c not in found]
    unexpected = [c for c in found if c not in expected]
    duplicated = sorted({c for c in found if list(found).count(c) > 1})
    if missing:
        problems.append(f"missing columns {missing}")
    if unexpected:
        problems.append(f"unexpected columns {unexpected}")
    if duplicated:
        problems.append(f"duplicated columns {duplicated}")
    if not problems:
        position = next(i for i, (a, b) in enumerate(zip(found, expected, strict=True)) if a != b)
        problems.append(
            f"columns out of order: position {position + 1} is {found[position]!r}, "
            f"expected {expected[position]!r}"
        )
    return problems


#: Where every reference file refused by its layout is listed (with reason and time).
REJECTED_FILES = "reference.rejected_files"


def screen_headers(
    source: str, files: Sequence[Path], expected: Sequence[str]
) -> tuple[list[Path], list[RefusedFile]]:
    """Split ``files`` into those whose header is exactly ``expected`` and the refused ones.

    A refused file names its missing, unexpected or reordered columns and the columns found;
    the asset lists it in :data:`REJECTED_FILES` and loads the others.
    """
    accepted: list[Path] = []
    refused: list[RefusedFile] = []
    for path in files:
        found = read_header(path)
        problems = header_problems(found, list(expected))
        if not problems:
            accepted.append(path)
            continue
        missing = tuple(c for c in expected if c not in found)
        reason = f"header does not match the {source} layout: {'; '.join(problems)}"
        refused.append(RefusedFile(source, path, reason, missing, tuple(found)))
    return accepted, refused


def record_refusals(
    context: dg.AssetExecutionContext,
    session: WarehouseSession,
    source: str,
    accepted: Sequence[Path],
    refused: Sequence[RefusedFile],
) -> dict[str, dg.MetadataValue]:
    """List ``refused`` in :data:`REJECTED_FILES`; fail when no file of ``source`` is left.

    Returns the materialization metadata naming the refused files.
    """
    record_rejected_files(session, REJECTED_FILES, source, refused)
    for refusal in refused:
        context.log.warning(f"Refused {refusal.path}: {refusal.message}")
    if not accepted:
        raise dg.Failure(
            description=f"Every {source} file was refused (nothing was loaded; the published "
            f"table keeps its rows; see {REJECTED_FILES}):\n"
            + "\n".join(f"{r.path}: {r.reason}" for r in refused),
            metadata={"refused_files": dg.MetadataValue.json([str(r.path) for r in refused])},
        )
    return {
        "refused_files": dg.MetadataValue.json([r.message for r in refused]),
        "refused_file_count": dg.MetadataValue.int(len(refused)),
    }


def source_files(landing_folder: Path, files: Sequence[Path], source: str) -> list[Path]:
    """The landed files of a source, or a failure naming the folder when there are none."""
    if not files:
        raise dg.Failure(
            f"No {source} file in {landing_folder}; run `narr-platform sample-data` "
            "or drop the source files there."
        )
    return list(files)


def is_tract_file(path: Path) -> bool:
    """CDC names its PLACES tract files ``...Census_Tract_Data...``; county files otherwise."""
    return "tract" in path.name.lower()


@contextlib.contextmanager
def reading(source: str, files: Sequence[Path]) -> Iterator[None]:
    """Turn an engine error while reading landed files into a failure naming them.

    The engine's own message (the file, line, column and value it could not convert) is
    kept; the committed table is untouched because the replace never happened.
    """
    try:
        yield
    except dg.Failure:
        raise
    except Exception as exc:
        detail = str(exc).strip()
        raise dg.Failure(
            description=f"Could not load the {source} file(s) "
            f"{', '.join(p.name for p in files)} (nothing was loaded): "
            + "\n".join(detail.splitlines()[:12]),
            metadata={"files": dg.MetadataValue.json([str(p) for p in files])},
        ) from exc


def vintage_sql(default: int | None, path: str = "source_file") -> str:
    """The release year (vintage) in a file's name, the last path part: 2020 in
    ``SVI_2020_US_county.csv``, 2024 in ``..._2024_release.csv``; ``default`` when none."""
    fallback = "CAST(NULL AS INTEGER)" if default is None else str(int(default))
    return (
        f"coalesce(try_cast(nullif(regexp_extract(regexp_replace({path}, '^.*[/\\\\]', '', 'g'), "
        f"'(19|20)[0-9]{{2}}', 0), '') AS INTEGER), {fallback})"
    )
