"""Source contracts: the columns a landing file must carry, and the files that are refused.

A :class:`SourceContract` names a source's required columns and what each means. A file
that does not meet it (empty, a required column missing, a workbook without a sheet that
has the columns) is refused with a :class:`RefusedFile` naming the file, the missing
columns and the columns found; :func:`record_rejected_files` lists it, with its reason, in
the domain's ``rejected_files`` table, and the rest of the folder still loads.
"""

from __future__ import annotations

import csv
import dataclasses
import datetime
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

from resources.warehouse import WarehouseSession, check_table_name, sql_literal

#: The columns of every ``<schema>.rejected_files`` table.
REJECTED_FILES_COLUMNS = {
    "source": "VARCHAR",
    "file_name": "VARCHAR",
    "file_path": "VARCHAR",
    "reason": "VARCHAR",
    "missing_columns": "VARCHAR",
    "found_columns": "VARCHAR",
    "message": "VARCHAR",
    "refused_at": "TIMESTAMP",
}


def column_key(name: str) -> str:
    """The comparison form of a header: lower case, spaces and dashes as underscores."""
    return name.strip().strip("\ufeff").lower().replace(" ", "_").replace("-", "_")


@dataclasses.dataclass(frozen=True)
class SourceContract:
    """A source's required columns (name -> meaning), matched case-insensitively.

    ``aliases`` maps a required column to other accepted header names (first match wins).
    """

    source: str
    required: Mapping[str, str]
    aliases: Mapping[str, tuple[str, ...]] = dataclasses.field(default_factory=dict)

    def resolve(self, names: Iterable[str]) -> tuple[dict[str, str], list[str]]:
        """``({required column: the file's column}, [missing required columns])``."""
        by_key = {column_key(n): n for n in names}
        found: dict[str, str] = {}
        missing: list[str] = []
        for column in self.required:
            candidates = (column, *self.aliases.get(column, ()))
            match = next(
                (by_key[column_key(c)] for c in candidates if column_key(c) in by_key), None
            )
            if match is None:
                missing.append(column)
            else:
                found[column] = match
        return found, missing

    def describe(self) -> str:
        return "; ".join(f"{c}: {meaning}" for c, meaning in self.required.items())


@dataclasses.dataclass(frozen=True)
class RefusedFile:
    """A landing file that did not meet its source's contract."""

    source: str
    path: Path
    reason: str
    missing: tuple[str, ...] = ()
    found: tuple[str, ...] = ()

    @property
    def message(self) -> str:
        parts = [f"{self.path.name}: {self.reason}"]
        if self.missing:
            parts.append(f"missing required column(s) {', '.join(self.missing)}")
        if self.found or self.missing:
            parts.append(f"columns found: {', '.join(self.found) if self.found else '(none)'}")
        return "; ".join(parts)


def check_columns(
    contract: SourceContract, path: Path, names: Sequence[str], where: str = ""
) -> RefusedFile | None:
    """A refusal when ``names`` lack a required column of ``contract``; else None."""
    _, missing = contract.resolve(names)
    if not missing:
        return None
    reason = f"does not meet the {contract.source} contract{where}"
    return RefusedFile(contract.source, path, reason, tuple(missing), tuple(names))


def sniff_delimiter(path: Path) -> str:
    """The delimiter of a delimited text file (comma, semicolon, tab or pipe); comma if unclear."""
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        sample = handle.read(65_536)
    if "\n" in sample[:-1]:
        sample = sample[: sample.rfind("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        first = sample.splitlines()[0] if sample else ""
        counts = {d: first.count(d) for d in ",;\t|"}
        best = max(counts, key=lambda d: counts[d])
        return best if counts[best] else ","


def csv_header(path: Path, delimiter: str | None = None) -> tuple[str, list[str]] | None:
    """``(delimiter, header names)`` of a delimited text file; None when it holds no header."""
    if path.stat().st_size == 0:
        return None
    delimiter = delimiter or sniff_delimiter(path)
    with path.open(encoding="utf-8-sig", errors="replace", newline="") as handle:
        for row in csv.reader(handle, delimiter=delimiter):
            if any(cell.strip() for cell in row):
                return delimiter, [cell.strip() for cell in row]
    return None


def record_rejected_files(
    session: WarehouseSession, table: str, source: str, refused: Sequence[RefusedFile]
) -> None:
    """Replace ``source``'s rows of ``table`` (created if missing) with ``refused``.

    Each row names the file, the reason, the missing and the found columns, and when it was
    refused (``refused_at``, UTC).
    """
    check_table_name(table)
    schema = table.split(".", 1)[0]
    session.ensure_schema(schema)
    columns = ", ".join(f"{name} {dtype}" for name, dtype in REJECTED_FILES_COLUMNS.items())
    session.execute(f"CREATE TABLE IF NOT EXISTS {table} ({columns})")
    # A rewrite of the other sources' rows, not DELETE: Spark's Parquet tables have none.
    # Columns a table of an earlier layout lacks are NULL in its kept rows.
    present = {name for name, _ in session.columns(table)}
    kept = ", ".join(
        name if name in present else f"CAST(NULL AS {dtype}) AS {name}"
        for name, dtype in REJECTED_FILES_COLUMNS.items()
    )
    keep = f"SELECT {kept} FROM {table} WHERE source IS DISTINCT FROM {sql_literal(source)}"
    session.create_table_as(table, keep)
    if not refused:
        return
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None).isoformat(" ", "seconds")
    rows = ", ".join(
        "("
        + ", ".join(
            sql_literal(v)
            for v in (
                source,
                f.path.name,
                str(f.path),
                f.reason,
                ", ".join(f.missing),
                ", ".join(f.found),
                f.message,
            )
        )
        + f", CAST({sql_literal(now)} AS TIMESTAMP))"
        for f in refused
    )
    session.execute(f"INSERT INTO {table} VALUES {rows}")
