"""Reading patient landing files of every format into one raw relation, inside the engine.

Each file becomes its own temporary view (``register_file_view``); its columns are
recognised by name (a few common aliases per field, or the Synthea ``patients.csv``
layout) and selected into the canonical raw columns, all text, with the file name, its
landing rank and the row number. The union of those selects is the relation
``patient_landing_raw`` that ``patient_data.sql`` types and validates.

A file that cannot be read, or whose header names none of the patient columns, raises
:class:`LandingFileError` naming the file and the reason.
"""

from __future__ import annotations

import csv
import dataclasses
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fhir_assets.patient_mapping import GENERIC_IDENTIFIER_SYSTEM, SYNTHEA_IDENTIFIER_SYSTEM
from resources.warehouse import WarehouseSession, sql_literal

PATIENT_PATTERNS = (
    "*.csv",
    "*.tsv",
    "*.txt",
    "*.parquet",
    "*.json",
    "*.ndjson",
    "*.jsonl",
    "*.xlsx",
)
SYNTHEA_PATTERNS = ("patients.csv",)
RAW_VIEW = "patient_landing_raw"
STATE_NAMES_VIEW = "us_state_names"

#: The generic extract's columns, in the order a headerless CSV is read.
GENERIC_COLUMNS = (
    "patient_id",
    "first_name",
    "last_name",
    "birth_date",
    "gender",
    "address",
    "city",
    "state",
    "postal_code",
    "phone",
    "email",
    "race",
    "ethnicity",
)

#: Canonical raw column -> accepted header names (lower case), first match wins.
GENERIC_ALIASES: dict[str, tuple[str, ...]] = {
    "patient_id": ("patient_id", "patientid", "id", "mrn"),
    "name_prefix": ("prefix", "name_prefix"),
    "first_name": ("first_name", "firstname", "given_name", "given", "first"),
    "last_name": ("last_name", "lastname", "family_name", "family", "surname", "last"),
    "name_suffix": ("suffix", "name_suffix"),
    "birth_date": ("birth_date", "birthdate", "dob", "date_of_birth"),
    "deceased_date": ("deceased_date", "death_date", "deathdate"),
    "gender": ("gender", "sex"),
    "address": ("address", "address_line", "street", "address1"),
    "city": ("city",),
    "state": ("state",),
    "postal_code": ("postal_code", "zip", "zip_code", "zipcode", "postcode"),
    "phone": ("phone", "telephone", "phone_number"),
    "email": ("email", "email_address"),
    "race": ("race",),
    "ethnicity": ("ethnicity",),
}
RAW_COLUMNS = tuple(GENERIC_ALIASES)

#: The header of Synthea's patients.csv (lower case) that identifies the layout.
SYNTHEA_SIGNATURE = frozenset(
    {"id", "birthdate", "deathdate", "ssn", "first", "last", "gender", "birthplace"}
)

FORMATS = {
    ".csv": "csv",
    ".tsv": "csv",
    ".txt": "csv",
    ".parquet": "parquet",
    ".json": "json",
    ".ndjson": "json",
    ".jsonl": "json",
    ".xlsx": "xlsx",
}


class LandingFileError(ValueError):
    """A landing file could not be read; the message names the file and the reason."""


@dataclasses.dataclass(frozen=True)
class LandingFile:
    path: Path
    rank: int  # landing order: higher is newer (modification time, then name)

    @property
    def file_format(self) -> str:
        return FORMATS[self.path.suffix.lower()]


@dataclasses.dataclass(frozen=True)
class RegisteredFile:
    file: LandingFile
    view: str
    kind: str  # generic | synthea
    columns: dict[str, str]  # canonical raw column -> the file's column name


def rank_files(paths: Sequence[Path]) -> list[LandingFile]:
    """Landing order: the latest modified file ranks highest; the name breaks ties."""
    ordered = sorted(paths, key=lambda p: (p.stat().st_mtime_ns, p.name))
    return [LandingFile(path, rank) for rank, path in enumerate(ordered, start=1)]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _recognise(names: Sequence[str]) -> tuple[str, dict[str, str]]:
    lower = {n.strip().lower().replace(" ", "_"): n for n in names}
    if set(lower) >= SYNTHEA_SIGNATURE:
        return "synthea", {
            "patient_id": lower["id"],
            "name_prefix": lower.get("prefix", ""),
            "first_name": lower["first"],
            "last_name": lower["last"],
            "name_suffix": lower.get("suffix", ""),
            "birth_date": lower["birthdate"],
            "deceased_date": lower["deathdate"],
            "gender": lower["gender"],
            "address": lower.get("address", ""),
            "city": lower.get("city", ""),
            "state": lower.get("state", ""),
            "postal_code": lower.get("zip", ""),
            "race": lower.get("race", ""),
            "ethnicity": lower.get("ethnicity", ""),
        }
    found: dict[str, str] = {}
    for column, aliases in GENERIC_ALIASES.items():
        match = next((lower[a] for a in aliases if a in lower), None)
        if match is not None:
            found[column] = match
    return "generic", {k: v for k, v in found.items() if v}


@contextmanager
def xlsx_as_parquet(path: Path) -> Iterator[Path]:
    """The first sheet of an XLSX file as a temporary all-text Parquet file (python-calamine)."""
    import pyarrow as pa
    import pyarrow.parquet as pq
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    rows = workbook.get_sheet_by_index(0).to_python(skip_empty_area=False)
    if not rows:
        raise LandingFileError(f"{path.name}: the first sheet is empty")
    header = [str(h).strip() for h in rows[0]]

    def text(value: object) -> str | None:
        if value is None or value == "":
            return None
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    columns = {
        name: pa.array([text(r[i]) if i < len(r) else None for r in rows[1:]], pa.string())
        for i, name in enumerate(header)
        if name
    }
    with tempfile.TemporaryDirectory(prefix="fhir-xlsx-") as folder:
        target = Path(folder) / f"{path.stem}.parquet"
        pq.write_table(pa.table(columns), target)
        yield target


def sniff_delimiter(path: Path) -> str | None:
    """The delimiter of a delimited text file (comma, semicolon, tab or pipe), if clear."""
    with path.open(encoding="utf-8", errors="replace", newline="") as handle:
        sample = handle.read(65_536)
    if "\n" in sample[:-1]:
        sample = sample[: sample.rfind("\n")]  # whole lines only
    try:
        return csv.Sniffer().sniff(sample, delimiters=",;\t|").delimiter
    except csv.Error:
        return None


def register_landing_file(
    session: WarehouseSession, file: LandingFile, view: str, readable_path: Path
) -> RegisteredFile:
    """Register one file as ``view`` and recognise its columns."""
    file_format = "parquet" if file.file_format == "xlsx" else file.file_format
    options: dict[str, object] = {}
    if file_format == "csv":
        # Header and delimiter are decided here, explicitly, so every engine reads alike.
        options = {"all_varchar": True, "header": True}
        delimiter = sniff_delimiter(readable_path)
        if delimiter:
            options["delimiter"] = delimiter
    try:
        session.register_file_view(view, [readable_path], file_format, options=options)
        names = [n for n, _ in session.columns(view) if n != "source_file"]
        kind, columns = _recognise(names)
        if (
            not columns.get("patient_id")
            and file_format == "csv"
            and len(names) == len(GENERIC_COLUMNS)
        ):
            # No known header: a headerless extract in the generic column order.
            session.register_file_view(
                view,
                [readable_path],
                "csv",
                columns=dict.fromkeys(GENERIC_COLUMNS, "VARCHAR"),
                options={**options, "header": False},
            )
            kind, columns = "generic", {c: c for c in GENERIC_COLUMNS}
        if file_format == "json":
            # Read every field as text: a value the sniffer did not see must not fail a cast.
            session.register_file_view(
                view, [readable_path], "json", columns=dict.fromkeys(names, "VARCHAR")
            )
    except LandingFileError:
        raise
    except Exception as exc:
        raise LandingFileError(
            f"{file.path.name}: cannot read as {file.file_format}: {exc}"
        ) from exc
    if "patient_id" not in columns:
        raise LandingFileError(
            f"{file.path.name}: no patient id column (expected one of "
            f"{', '.join(GENERIC_ALIASES['patient_id'])}); columns are {', '.join(names)}"
        )
    return RegisteredFile(file, view, kind, columns)


def raw_select_sql(registered: RegisteredFile) -> str:
    """One file's rows in the canonical raw columns (all text), with lineage."""
    system = (
        SYNTHEA_IDENTIFIER_SYSTEM if registered.kind == "synthea" else GENERIC_IDENTIFIER_SYSTEM
    )
    parts = [
        f"{sql_literal(registered.file.path.name)} AS source_file",
        f"{sql_literal(registered.file.file_format)} AS source_format",
        f"{sql_literal(registered.kind)} AS source_kind",
        f"{registered.file.rank} AS file_rank",
        "row_number() OVER () AS source_row",
        f"{sql_literal(system)} AS identifier_system",
    ]
    for column in RAW_COLUMNS:
        name = registered.columns.get(column)
        expr = f"CAST({_quote(name)} AS VARCHAR)" if name else "CAST(NULL AS VARCHAR)"
        parts.append(f"{expr} AS {column}")
    return f"SELECT {', '.join(parts)} FROM {registered.view}"


@contextmanager
def register_landing(
    session: WarehouseSession, files: Sequence[LandingFile]
) -> Iterator[list[RegisteredFile]]:
    """Register every file and the union view :data:`RAW_VIEW`; temporary files live inside."""
    registered: list[RegisteredFile] = []
    with tempfile.TemporaryDirectory(prefix="fhir-landing-") as folder:
        for index, file in enumerate(files):
            view = f"patient_file_{index}"
            if file.file_format == "xlsx":
                try:
                    with xlsx_as_parquet(file.path) as converted:
                        readable = Path(folder) / f"{index}_{converted.name}"
                        converted.replace(readable)
                except LandingFileError:
                    raise
                except Exception as exc:
                    raise LandingFileError(f"{file.path.name}: cannot read as xlsx: {exc}") from exc
            else:
                readable = file.path
            registered.append(register_landing_file(session, file, view, readable))
        register_state_names(session)
        union = "\nUNION ALL\n".join(raw_select_sql(r) for r in registered)
        session.execute(f"CREATE OR REPLACE TEMP VIEW {RAW_VIEW} AS\n{union}")
        yield registered


def register_state_names(session: WarehouseSession) -> None:
    """Temp view ``us_state_names(state_name, usps)``: full state names (lower case) to USPS."""
    from resources.geography import us_states

    rows = ", ".join(f"({sql_literal(s.name.lower())}, {sql_literal(s.usps)})" for s in us_states())
    session.execute(
        f"CREATE OR REPLACE TEMP VIEW {STATE_NAMES_VIEW} AS "
        f"SELECT * FROM (VALUES {rows}) AS states(state_name, usps)"
    )


def find_failing_file(
    session: WarehouseSession, registered: Sequence[RegisteredFile]
) -> str | None:
    """After a failed load: the first file whose rows cannot be read, with the reason."""
    for item in registered:
        try:
            session.fetch_rows(f"SELECT count(*) FROM ({raw_select_sql(item)}) AS probe")
        except Exception as exc:
            return f"{item.file.path.name}: {str(exc).splitlines()[0]}"
    return None
