"""THE reader of Synthea CSV exports: every asset that reads a Synthea file goes through here.

``fhir/patient_data`` (the FHIR Patient pipeline) and the ``healthsim/*`` canonical tables
read Synthea-layout CSV (``data/landing/synthea``, ``data/landing/healthsim``) with
:func:`register_synthea`, and patients are typed once, by ``sql/synthea_patients.sql``
(:func:`register_synthea_patients`), so a patient gets the same id, dates, ZIP and address
in FHIR, in HealthSim and in the star schema. The normalization rules themselves (dates,
ZIPs, states, numbers, coordinates) live in :mod:`resources.normalize`.

Per file, in order:

1. the contract (:data:`SYNTHEA_CONTRACTS`): an empty file, or one without a required
   column, is refused (:class:`resources.contracts.RefusedFile`, naming the missing and the
   found columns) and the other files still load;
2. the header as the file has it, so columns are matched by name (any order, any case, a
   semicolon or tab delimiter from a spreadsheet re-save), every value read as text;
3. malformed rows (too few or too many fields) are kept aside with their line
   (``malformed_rows_sql``) while the rest of the file loads.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from pathlib import Path

from fhir_assets.healthsim.layout import SYNTHEA_COLUMNS
from resources.contracts import RefusedFile, SourceContract, check_columns, column_key, csv_header
from resources.normalize import render
from resources.sql_files import load_sql
from resources.warehouse import WarehouseSession, sql_literal

#: The normalized patients relation (temp view) both pipelines read.
PATIENTS_VIEW = "synthea_patients"

#: Per Synthea file: the columns without which its rows mean nothing.
SYNTHEA_CONTRACTS: dict[str, SourceContract] = {
    "patients": SourceContract(
        "synthea patients",
        {
            "Id": "the patient's UUID, the key every clinical file refers to",
            "BIRTHDATE": "date of birth",
            "GENDER": "administrative gender, M or F",
            "FIRST": "given name",
            "LAST": "family name",
        },
    ),
    "encounters": SourceContract(
        "synthea encounters",
        {
            "Id": "the encounter's UUID",
            "START": "when the encounter began",
            "PATIENT": "the patient's Id",
            "ORGANIZATION": "the facility's Id",
            "ENCOUNTERCLASS": "wellness, ambulatory, emergency, ...",
        },
    ),
    "conditions": SourceContract(
        "synthea conditions",
        {
            "START": "onset date",
            "PATIENT": "the patient's Id",
            "ENCOUNTER": "the encounter's Id",
            "CODE": "SNOMED CT code",
        },
    ),
    "claims": SourceContract(
        "synthea claims",
        {
            "Id": "the claim's UUID",
            "PATIENTID": "the patient's Id",
            "APPOINTMENTID": "the encounter's Id",
            "SERVICEDATE": "date of service",
        },
    ),
    "medications": SourceContract(
        "synthea medications",
        {
            "START": "order start",
            "PATIENT": "the patient's Id",
            "ENCOUNTER": "the encounter's Id",
            "CODE": "RxNorm code",
        },
    ),
    "procedures": SourceContract(
        "synthea procedures",
        {
            "START": "when performed",
            "PATIENT": "the patient's Id",
            "ENCOUNTER": "the encounter's Id",
            "CODE": "SNOMED CT code",
        },
    ),
    "organizations": SourceContract(
        "synthea organizations",
        {"Id": "the organization's UUID", "NAME": "the organization's name"},
    ),
    "providers": SourceContract(
        "synthea providers",
        {"Id": "the provider's UUID", "NAME": "the clinician's name"},
    ),
    "payers": SourceContract(
        "synthea payers",
        {"Id": "the payer's UUID", "NAME": "the payer's name"},
    ),
    "observations": SourceContract(
        "synthea observations",
        {
            "DATE": "when observed",
            "PATIENT": "the patient's Id",
            "ENCOUNTER": "the encounter's Id (empty for summary observations)",
            "CODE": "LOINC code",
            "VALUE": "the value (a number when TYPE is numeric)",
        },
    ),
    "immunizations": SourceContract(
        "synthea immunizations",
        {
            "DATE": "when given",
            "PATIENT": "the patient's Id",
            "ENCOUNTER": "the encounter's Id",
            "CODE": "CVX vaccine code",
        },
    ),
    "allergies": SourceContract(
        "synthea allergies",
        {
            "START": "onset date",
            "PATIENT": "the patient's Id",
            "ENCOUNTER": "the encounter's Id",
            "CODE": "SNOMED CT or RxNorm code of the substance",
        },
    ),
}


@dataclasses.dataclass(frozen=True)
class SyntheaRead:
    """What :func:`register_synthea` registered: the view, the files read and refused."""

    entity: str
    view: str
    accepted: tuple[Path, ...]
    refused: tuple[RefusedFile, ...]


def _quote(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def screen_file(entity: str, path: Path) -> tuple[RefusedFile | None, str, list[str]]:
    """The contract verdict on one file, with its delimiter and header."""
    contract = SYNTHEA_CONTRACTS[entity]
    header = csv_header(path)
    if header is None:
        return RefusedFile(contract.source, path, "empty file (no header, no rows)"), ",", []
    delimiter, names = header
    return check_columns(contract, path, names), delimiter, names


def register_synthea(
    session: WarehouseSession, entity: str, paths: Sequence[Path], view: str | None = None
) -> SyntheaRead:
    """Register the Synthea ``entity`` files that meet the contract as one all-text view.

    The view (default ``landing_<entity>``) has Synthea's column names
    (:data:`fhir_assets.healthsim.layout.SYNTHEA_COLUMNS`; NULL where a file lacks an
    optional one), ``source_file`` (the path) and ``source_row`` (the row's ordinal among
    the file's well-formed rows). Malformed rows are in ``session.malformed_rows_sql``
    of each file view ``<view>_<n>``; :func:`malformed_rows_sql` unions them.
    """
    view = view or f"landing_{entity}"
    accepted: list[Path] = []
    refused: list[RefusedFile] = []
    selects: list[str] = []
    for path in paths:
        verdict, delimiter, names = screen_file(entity, path)
        if verdict is not None:
            refused.append(verdict)
            continue
        file_view = f"{view}_{len(accepted)}"
        session.register_file_view(
            file_view,
            [path],
            "csv",
            columns=dict.fromkeys(names, "VARCHAR"),
            options={"header": True, "delimiter": delimiter, "quote": '"', "store_rejects": True},
        )
        by_key = {column_key(n): n for n in names}
        parts = [
            (
                f"{_quote(by_key[column_key(c)])} AS {_quote(c)}"
                if column_key(c) in by_key
                else f"CAST(NULL AS VARCHAR) AS {_quote(c)}"
            )
            for c in SYNTHEA_COLUMNS[entity]
        ]
        parts += ["source_file", "row_number() OVER () AS source_row"]
        selects.append(f"SELECT {', '.join(parts)} FROM {file_view}")
        accepted.append(path)
    if not selects:
        # No readable file: an empty relation of the same shape, so the SQL still binds.
        parts = [f"CAST(NULL AS VARCHAR) AS {_quote(c)}" for c in SYNTHEA_COLUMNS[entity]]
        parts += ["CAST(NULL AS VARCHAR) AS source_file", "CAST(NULL AS BIGINT) AS source_row"]
        selects.append(f"SELECT {', '.join(parts)} WHERE 1 = 0")
    session.execute(f"CREATE OR REPLACE TEMP VIEW {view} AS\n" + "\nUNION ALL\n".join(selects))
    return SyntheaRead(entity, view, tuple(accepted), tuple(refused))


def malformed_rows_sql(session: WarehouseSession, read: SyntheaRead) -> str:
    """The malformed rows of every accepted file of ``read`` (call after the view was read)."""
    parts = [
        session.malformed_rows_sql(f"{read.view}_{index}") for index in range(len(read.accepted))
    ]
    if not parts:
        parts = [session.malformed_rows_sql(read.view)]
    return "\nUNION ALL\n".join(f"SELECT * FROM ({p}) AS m{i}" for i, p in enumerate(parts))


def synthea_sql(name: str) -> str:
    """A Synthea SQL file of ``fhir_assets/sql`` with the normalization rules expanded."""
    return render(load_sql("fhir_assets.sql", name))


def register_synthea_patients(session: WarehouseSession, paths: Sequence[Path]) -> SyntheaRead:
    """Register Synthea ``patients.csv`` files and the normalized view :data:`PATIENTS_VIEW`."""
    read = register_synthea(session, "patients", paths)
    session.execute(
        f"CREATE OR REPLACE TEMP VIEW {PATIENTS_VIEW} AS\n{synthea_sql('synthea_patients')}"
    )
    return read


def source_of(path_sql: str) -> str:
    """The landing folder's name (synthea, healthsim) of a ``source_file`` path expression."""
    return f"regexp_extract(replace({path_sql}, '\\\\', '/'), '([^/]+)/[^/]+$', 1)"


__all__ = [
    "PATIENTS_VIEW",
    "SYNTHEA_CONTRACTS",
    "SyntheaRead",
    "malformed_rows_sql",
    "register_synthea",
    "register_synthea_patients",
    "screen_file",
    "sql_literal",
    "synthea_sql",
]
