"""Reading patient landing files of every format into one raw relation, inside the engine.

Each file becomes its own temporary view (``register_file_view``); its columns are
recognised by name (a few common aliases per field, or the Synthea ``patients.csv``
layout) and selected into the canonical raw columns, all text, with the file name, its
landing rank and the row number. The union of those selects is the relation
``patient_landing_raw`` that ``patient_data.sql`` types and validates.

Synthea ``patients.csv`` files (recognised by their header, wherever they land) are read
by THE Synthea reader (:mod:`fhir_assets.synthea`), the same one HealthSim uses, so a
patient gets the same id, dates, ZIP and address in both pipelines.

Every file must meet :data:`PATIENT_CONTRACT` (a patient id, a birth date and a gender
column, under any of their aliases). A file that does not (an empty file, an unreadable
one, a required column missing, a workbook without a sheet that has the columns) is
refused: :class:`resources.contracts.RefusedFile` names the file, the missing and the found
columns, and the rest of the folder still loads. In a workbook, the sheet meeting the
contract is read (or the sheet named in configuration), never a lookup sheet. Malformed
CSV rows (too few or too many fields) are kept aside with their line while the rest of the
file loads.
"""

from __future__ import annotations

import csv
import dataclasses
import tempfile
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from fhir_assets.patient_mapping import GENERIC_IDENTIFIER_SYSTEM, SYNTHEA_IDENTIFIER_SYSTEM
from fhir_assets.synthea import PATIENTS_VIEW, SyntheaRead, register_synthea_patients
from resources.contracts import RefusedFile, SourceContract, check_columns, csv_header
from resources.errors import EngineOutOfMemoryError, is_out_of_memory, out_of_memory_message
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
#: Raw columns only the Synthea reader fills: its verdict and its per-field issues.
UPSTREAM_COLUMNS = ("upstream_reject", "field_issues")

#: What every patient file must carry (under any alias of GENERIC_ALIASES).
PATIENT_CONTRACT = SourceContract(
    "patients",
    {
        "patient_id": "the patient's identifier in the source system (becomes the FHIR id)",
        "birth_date": "date of birth",
        "gender": "administrative gender (male/female/other/unknown, M/F/O/U)",
    },
    aliases={c: GENERIC_ALIASES[c] for c in ("patient_id", "birth_date", "gender")},
)

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
    malformed: bool = False  # read with store_rejects: malformed rows are kept aside
    sheet: str | None = None  # the workbook sheet read


@dataclasses.dataclass
class LandingRegistration:
    """The registered files, the refused ones and the Synthea read (if any)."""

    registered: list[RegisteredFile]
    refused: list[RefusedFile]
    synthea: SyntheaRead | None = None

    def __iter__(self) -> Iterator[RegisteredFile]:
        return iter(self.registered)


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


def _cell_text(value: object) -> str | None:
    if value is None or value == "":
        return None
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def choose_sheet(path: Path, configured: str | None = None) -> tuple[str, list[list[object]]]:
    """The workbook sheet to read: the configured one, else the first meeting the contract.

    A lookup or code sheet (``id, description``) never qualifies; raises
    :class:`LandingFileError` naming the sheets and their columns when none does.
    """
    from python_calamine import CalamineWorkbook

    workbook = CalamineWorkbook.from_path(str(path))
    seen: list[str] = []
    for name in workbook.sheet_names:
        if configured and name != configured:
            continue
        rows = workbook.get_sheet_by_name(name).to_python(skip_empty_area=False)
        header = [str(h).strip() for h in rows[0]] if rows else []
        if rows and (
            {h.lower() for h in header} >= SYNTHEA_SIGNATURE
            or not PATIENT_CONTRACT.resolve(header)[1]
        ):
            return name, rows
        seen.append(f"{name} ({', '.join(h for h in header if h) or 'empty'})")
    if configured and not seen:
        raise LandingFileError(
            f"no sheet named {configured!r} (sheets: {', '.join(workbook.sheet_names)})"
        )
    raise LandingFileError(
        "no sheet meets the patients contract (columns "
        f"{', '.join(PATIENT_CONTRACT.required)}); sheets found: {'; '.join(seen)}"
    )


@contextmanager
def xlsx_as_parquet(path: Path, sheet: str | None = None) -> Iterator[tuple[Path, str]]:
    """The chosen sheet of an XLSX file as a temporary all-text Parquet file (python-calamine)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    name, rows = choose_sheet(path, sheet)
    header = [str(h).strip() for h in rows[0]]
    columns = {
        column: pa.array([_cell_text(r[i]) if i < len(r) else None for r in rows[1:]], pa.string())
        for i, column in enumerate(header)
        if column
    }
    with tempfile.TemporaryDirectory(prefix="fhir-xlsx-") as folder:
        target = Path(folder) / f"{path.stem}.parquet"
        pq.write_table(pa.table(columns), target)
        yield target, name


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
    """Register one generic file as ``view`` and recognise its columns.

    Raises :class:`LandingFileError` when the file cannot be read, and
    :class:`ContractError` when it does not meet :data:`PATIENT_CONTRACT`.
    """
    file_format = "parquet" if file.file_format == "xlsx" else file.file_format
    options: dict[str, object] = {}
    if file_format == "csv":
        # Header and delimiter are decided here, explicitly, so every engine reads alike;
        # malformed rows are kept aside (with their line) instead of failing the file.
        options = {"all_varchar": True, "header": True, "store_rejects": True}
        delimiter = sniff_delimiter(readable_path)
        if delimiter:
            options["delimiter"] = delimiter
    try:
        if file_format == "csv":
            header = csv_header(readable_path, options.get("delimiter"))  # type: ignore[arg-type]
            names = _unique_names(header[1] if header else [])
            # The file's own header as an explicit all-text schema: no sniffing of rows, so
            # a short row cannot change the guessed dialect.
            session.register_file_view(
                view,
                [readable_path],
                "csv",
                columns=dict.fromkeys(names, "VARCHAR"),
                options={k: v for k, v in options.items() if k != "all_varchar"},
            )
        else:
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
                options={
                    **{k: v for k, v in options.items() if k != "all_varchar"},
                    "header": False,
                },
            )
            kind, columns = "generic", {c: c for c in GENERIC_COLUMNS}
            names = list(GENERIC_COLUMNS)
        if file_format == "json":
            # Read every field as text: a value the sniffer did not see must not fail a cast.
            session.register_file_view(
                view, [readable_path], "json", columns=dict.fromkeys(names, "VARCHAR")
            )
    except LandingFileError:
        raise
    except Exception as exc:
        if is_out_of_memory(exc):  # the engine's limit, not the file: name the setting
            raise EngineOutOfMemoryError(
                out_of_memory_message(exc, f"reading {file.path.name}")
            ) from exc
        raise LandingFileError(
            f"{file.path.name}: cannot read as {file.file_format}: {str(exc).splitlines()[0]}"
        ) from exc
    refusal = check_columns(PATIENT_CONTRACT, file.path, names)
    if refusal is not None:
        raise ContractError(refusal)
    return RegisteredFile(file, view, kind, columns, malformed=file_format == "csv")


class ContractError(ValueError):
    """A landing file that does not meet :data:`PATIENT_CONTRACT`."""

    def __init__(self, refusal: RefusedFile) -> None:
        super().__init__(refusal.message)
        self.refusal = refusal


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
        f"{sql_literal(system)} AS identifier_system",
    ]
    if registered.kind == "synthea":
        # Already typed by THE Synthea reader: ISO dates, 5-digit (or ZIP+4) postal codes,
        # USPS states, its own verdict; the raw text stays where a value did not parse.
        synthea = {
            "patient_id": "patient_id",
            "name_prefix": "name_prefix",
            "first_name": "first_name",
            "last_name": "last_name",
            "name_suffix": "name_suffix",
            "birth_date": "coalesce(CAST(birth_date AS VARCHAR), birth_date_raw)",
            "deceased_date": "coalesce(CAST(death_date AS VARCHAR), death_date_raw)",
            "gender": "gender",
            "address": "address",
            "city": "city",
            "state": "coalesce(state_usps, state_raw)",
            # The raw ZIP: patient_data.sql applies the same rule and counts its issue.
            "postal_code": "zip_raw",
            "race": "race",
            "ethnicity": "ethnicity",
            "upstream_reject": "reject_reason || coalesce(': ' || reject_detail, '')",
            "field_issues": "field_issues",
        }
        parts.append("source_row")
        for column in (*RAW_COLUMNS, *UPSTREAM_COLUMNS):
            expr = synthea.get(column, "NULL")
            parts.append(f"CAST({expr} AS VARCHAR) AS {column}")
        return (
            f"SELECT {', '.join(parts)} FROM {PATIENTS_VIEW} "
            f"WHERE source_file = {sql_literal(str(registered.file.path))}"
        )
    parts.append("row_number() OVER () AS source_row")
    for column in RAW_COLUMNS:
        name = registered.columns.get(column)
        expr = f"CAST({_quote(name)} AS VARCHAR)" if name else "CAST(NULL AS VARCHAR)"
        parts.append(f"{expr} AS {column}")
    parts += [f"CAST(NULL AS VARCHAR) AS {column}" for column in UPSTREAM_COLUMNS]
    return f"SELECT {', '.join(parts)} FROM {registered.view}"


def _unique_names(names: Sequence[str]) -> list[str]:
    """Header names usable as a schema: blanks become column<n>, repeats get a suffix."""
    out: list[str] = []
    for index, name in enumerate(names):
        candidate = name or f"column{index}"
        while candidate in out:
            candidate = f"{candidate}_{index}"
        out.append(candidate)
    return out


def _is_synthea_csv(file: LandingFile) -> bool:
    if file.file_format != "csv":
        return False
    header = csv_header(file.path)
    return header is not None and {h.lower() for h in header[1]} >= SYNTHEA_SIGNATURE


MALFORMED_VIEW = "patient_landing_malformed"


def _malformed_sql(session: WarehouseSession, registration: LandingRegistration) -> str:
    """Malformed rows of every registered CSV: file name, line, error, raw record."""
    parts = []
    for item in registration.registered:
        if item.malformed:
            parts.append(
                f"SELECT {sql_literal(item.file.path.name)} AS source_file, "
                f"{sql_literal(item.file.file_format)} AS source_format, "
                f"{sql_literal(item.kind)} AS source_kind, {item.file.rank} AS file_rank, "
                f"source_line, error, raw_record FROM ({session.malformed_rows_sql(item.view)}) AS m"
            )
    if registration.synthea is not None and registration.synthea.accepted:
        from fhir_assets.synthea import malformed_rows_sql

        ranks = {
            str(item.file.path): item.file.rank
            for item in registration.registered
            if item.kind == "synthea"
        }
        rank_case = " ".join(f"WHEN {sql_literal(k)} THEN {v}" for k, v in ranks.items())
        parts.append(
            "SELECT regexp_extract(replace(source_file, '\\', '/'), '([^/]+)$', 1) AS source_file, "
            "'csv' AS source_format, 'synthea' AS source_kind, "
            f"CASE source_file {rank_case} END AS file_rank, source_line, error, raw_record "
            f"FROM ({malformed_rows_sql(session, registration.synthea)}) AS s"
        )
    if not parts:
        return (
            "SELECT CAST(NULL AS VARCHAR) AS source_file, CAST(NULL AS VARCHAR) AS source_format, "
            "CAST(NULL AS VARCHAR) AS source_kind, CAST(NULL AS INTEGER) AS file_rank, "
            "CAST(NULL AS BIGINT) AS source_line, CAST(NULL AS VARCHAR) AS error, "
            "CAST(NULL AS VARCHAR) AS raw_record WHERE 1 = 0"
        )
    return "\nUNION ALL\n".join(parts)


@contextmanager
def register_landing(
    session: WarehouseSession, files: Sequence[LandingFile], xlsx_sheet: str | None = None
) -> Iterator[LandingRegistration]:
    """Register every file that meets the contract, the union view :data:`RAW_VIEW` and the
    malformed rows' view :data:`MALFORMED_VIEW`; temporary files live inside."""
    registration = LandingRegistration([], [])
    synthea_files = [f for f in files if _is_synthea_csv(f)]
    with tempfile.TemporaryDirectory(prefix="fhir-landing-") as folder:
        if synthea_files:
            read = register_synthea_patients(session, [f.path for f in synthea_files])
            registration.synthea = read
            registration.refused.extend(read.refused)
            accepted = set(read.accepted)
            registration.registered.extend(
                RegisteredFile(f, PATIENTS_VIEW, "synthea", {})
                for f in synthea_files
                if f.path in accepted
            )
        for index, file in enumerate(files):
            if file in synthea_files:
                continue
            view = f"patient_file_{index}"
            sheet = None
            try:
                if file.path.stat().st_size == 0 or (
                    file.file_format == "csv" and csv_header(file.path) is None
                ):
                    raise ContractError(
                        RefusedFile("patients", file.path, "empty file (no header, no rows)")
                    )
                if file.file_format == "xlsx":
                    try:
                        with xlsx_as_parquet(file.path, xlsx_sheet) as (converted, sheet):
                            readable = Path(folder) / f"{index}_{converted.name}"
                            converted.replace(readable)
                    except LandingFileError as exc:
                        raise LandingFileError(f"{file.path.name}: {exc}") from exc
                    except Exception as exc:
                        raise LandingFileError(
                            f"{file.path.name}: cannot read as xlsx: {exc}"
                        ) from exc
                else:
                    readable = file.path
                item = register_landing_file(session, file, view, readable)
                registration.registered.append(dataclasses.replace(item, sheet=sheet))
            except ContractError as exc:
                registration.refused.append(exc.refusal)
            except LandingFileError as exc:
                reason = str(exc).removeprefix(f"{file.path.name}: ")
                registration.refused.append(RefusedFile("patients", file.path, reason))
        register_state_names(session)
        if registration.registered:
            union = "\nUNION ALL\n".join(raw_select_sql(r) for r in registration.registered)
        else:
            columns = ["source_file", "source_format", "source_kind", "identifier_system"]
            union = (
                "SELECT "
                + ", ".join(f"CAST(NULL AS VARCHAR) AS {c}" for c in columns)
                + ", CAST(NULL AS INTEGER) AS file_rank, CAST(NULL AS BIGINT) AS source_row, "
                + ", ".join(
                    f"CAST(NULL AS VARCHAR) AS {c}" for c in (*RAW_COLUMNS, *UPSTREAM_COLUMNS)
                )
                + " WHERE 1 = 0"
            )
        session.execute(f"CREATE OR REPLACE TEMP VIEW {RAW_VIEW} AS\n{union}")
        # Reading the malformed rows scans each CSV once, before the load reads it again.
        session.execute(
            f"CREATE OR REPLACE TEMP VIEW {MALFORMED_VIEW} AS\n"
            f"{_malformed_sql(session, registration)}"
        )
        yield registration


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
