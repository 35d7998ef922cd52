"""Sample patient files for the FHIR pipeline: every landing format, with realistic dirt.

``SampleDataRequest.patients`` rows (default 100,000) are split over CSV (comma and
semicolon), Parquet, NDJSON, a JSON array and XLSX in ``patients/``. Rows are generated
by DuckDB SQL from the row number and the seed (``hash``), so tens of millions of rows take
seconds and the same request always writes the same files. The dirt: gender spelled many
ways or junk, birth dates in several formats, some impossible (month 13, 30 February) or
in the future, empty names, stray whitespace, non-ASCII names, missing or malformed ids
and patient ids repeated in later files (a newer record of the same patient).

The Synthea export lands in ``synthea/`` through the HealthSim ``synthea`` generator.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import duckdb

from resources.sample_files import SampleDataRequest, atomic_path

PATIENTS_SOURCE = "patients"
SYNTHEA_SOURCE = "synthea"

#: XLSX is for small spreadsheets; its share of the rows is capped.
MAX_XLSX_ROWS = 50_000

GIVEN_NAMES = [
    "James",
    "Mary",
    "Robert",
    "Patricia",
    "John",
    "Jennifer",
    "Michael",
    "Linda",
    "David",
    "Elizabeth",
    "William",
    "Barbara",
    "Richard",
    "Susan",
    "Joseph",
    "Jessica",
    "Thomas",
    "Sarah",
    "Charles",
    "Karen",
    "Daniel",
    "Nancy",
    "Matthew",
    "Lisa",
    "Anthony",
    "Betty",
    "Mark",
    "Sandra",
    "Maria",
    "José",
    "Zoë",
    "Renée",
    "Chloé",
    "Björn",
    "Søren",
    "Ana-Lucía",
    "Nguyễn",
    "Łukasz",
    "Mei",
    "李娜",
    "Sofía",
    "Aarav",
    "Fatima",
    "Mohammed",
    "Olga",
    "Dmitri",
    "Siobhán",
    "Ngozi",
    "Kwame",
    "Hana",
]
FAMILY_NAMES = [
    "Smith",
    "Johnson",
    "Williams",
    "Brown",
    "Jones",
    "Garcia",
    "Miller",
    "Davis",
    "Rodriguez",
    "Martinez",
    "Hernandez",
    "Lopez",
    "Gonzalez",
    "Wilson",
    "Anderson",
    "Thomas",
    "Taylor",
    "Moore",
    "Jackson",
    "Martin",
    "Lee",
    "Perez",
    "Thompson",
    "White",
    "Harris",
    "Sánchez",
    "Müller",
    "Núñez",
    "O'Brien",
    "Kowalski",
    "Nguyen",
    "Chen",
    "王",
    "Patel",
    "Okafor",
    "Ivanova",
    "Dubois",
    "Van-der-Berg",
    "Álvarez",
    "Björklund",
    "Yamamoto",
    "Kim",
    "Cohen",
    "Rossi",
    "Haddad",
]
STREETS = [
    "Main",
    "Oak",
    "Pine",
    "Maple",
    "Cedar",
    "Elm",
    "Washington",
    "Lake",
    "Hill",
    "Park",
    "Sunset",
    "Lincoln",
]
CITIES = (
    ("Boston", "MA", "021"),
    ("Springfield", "IL", "627"),
    ("Austin", "TX", "787"),
    ("Portland", "OR", "972"),
    ("Denver", "CO", "802"),
    ("Atlanta", "GA", "303"),
    ("Phoenix", "AZ", "850"),
    ("Seattle", "WA", "981"),
    ("Newark", "NJ", "071"),
    ("San Juan", "PR", "009"),
)
#: Spellings seen in real extracts: mostly M/F/male/female, then odd cases and junk.
GENDERS = (
    ["M"] * 6
    + ["F"] * 6
    + ["male"] * 4
    + ["female"] * 4
    + ["Male", "FEMALE", " m ", "f ", "other", "unknown", "U", "", "x", "?", "Femal", "0"]
)
RACES = ["white"] * 6 + ["black"] * 2 + ["asian"] * 2 + ["hawaiian", "native", "other", ""]
ETHNICITIES = ["nonhispanic"] * 5 + ["hispanic"] * 2 + [""]


@dataclasses.dataclass(frozen=True)
class PatientFile:
    """One landing file: its name, share of the rows and how it is written."""

    name: str
    share: float
    writer: str  # csv, csv_semicolon, parquet, ndjson, json_array, xlsx


#: In landing order: a patient id repeated in a later file is a newer record.
PATIENT_FILES = (
    PatientFile("patients_2024_01_ehr_extract.csv", 0.35, "csv"),
    PatientFile("patients_2024_02_clinic_export.csv", 0.05, "csv_semicolon"),
    PatientFile("patients_2024_03_registry.parquet", 0.30, "parquet"),
    PatientFile("patients_2024_04_portal.ndjson", 0.15, "ndjson"),
    PatientFile("patients_2024_05_portal_batch.json", 0.05, "json_array"),
    PatientFile("patients_2024_06_legacy.xlsx", 0.10, "xlsx"),
)


def _sql_list(values: list[str] | tuple[str, ...]) -> str:
    return "[" + ", ".join("'" + v.replace("'", "''") + "'" for v in values) + "]"


def _rand(salt: str) -> str:
    """SQL for a deterministic non-negative pseudo-random BIGINT per row, seed and salt."""
    return f"CAST(hash(i, seed, '{salt}') % 1000000007 AS BIGINT)"


def _pick(values: list[str] | tuple[str, ...], salt: str) -> str:
    """SQL choosing one of ``values`` per row, deterministically from the row and seed."""
    return f"{_sql_list(values)}[1 + {_rand(salt)} % {len(values)}]"


def _chance(salt: str, per_thousand: int) -> str:
    return f"({_rand(salt)} % 1000 < {per_thousand})"


def patient_rows_sql(first_row: int, rows: int, seed: int, date_style: str) -> str:
    """SQL for ``rows`` raw patient rows starting at global row ``first_row``.

    ``date_style`` is ``mixed`` (text in several formats, some impossible) or ``date``
    (a typed DATE column, as a Parquet writer would keep it).
    """
    cities = _sql_list([c for c, _, _ in CITIES])
    states = _sql_list([s for _, s, _ in CITIES])
    zips = _sql_list([z for _, _, z in CITIES])
    # 1.5% of the rows in later files repeat the id of an earlier row (a newer record).
    duplicate_of = (
        f"CASE WHEN {first_row} > 0 AND {_chance('dup', 15)} "
        f"THEN {_rand('dup_of')} % {max(first_row, 1)} ELSE i END"
    )
    future = f"DATE '2090-01-01' + ({_rand('future')} % 3000)::INT"
    past = f"DATE '1925-01-01' + ({_rand('birth')} % 35000)::INT"
    if date_style == "date":
        birth_date = (
            f"CASE WHEN {_chance('bd_null', 10)} THEN NULL "
            f"WHEN {_chance('bd_future', 5)} THEN {future} ELSE {past} END"
        )
    else:
        impossible = _sql_list(
            ["1980-13-01", "2001-02-30", "31/31/1999", "not known", "19xx-01-01"]
        )
        fmt = f"{_rand('fmt')} % 10"
        formatted = (
            f"CASE WHEN {fmt} < 7 THEN strftime({past}, '%Y-%m-%d') "
            f"WHEN {fmt} < 9 THEN strftime({past}, '%m/%d/%Y') ELSE strftime({past}, '%Y%m%d') END"
        )
        birth_date = (
            f"CASE WHEN {_chance('bd_null', 10)} THEN '' "
            f"WHEN {_chance('bd_bad', 10)} THEN {impossible}[1 + {_rand('bad')} % 5] "
            f"WHEN {_chance('bd_future', 5)} THEN strftime({future}, '%Y-%m-%d') "
            f"ELSE {formatted} END"
        )
    return f"""
WITH numbered AS (
    SELECT i, {seed}::BIGINT AS seed, {duplicate_of} AS p
    FROM range({first_row}, {first_row + rows}) AS t(i)
)
SELECT
    CASE
        WHEN {_chance("id_null", 3)} THEN NULL
        WHEN {_chance("id_bad", 2)} THEN 'PT ' || p || '#'
        WHEN {_chance("id_space", 20)} THEN '  P' || lpad(p::VARCHAR, 9, '0') || ' '
        ELSE 'P' || lpad(p::VARCHAR, 9, '0')
    END AS patient_id,
    CASE
        WHEN {_chance("given_empty", 10)} THEN ''
        WHEN {_chance("given_space", 20)} THEN ' ' || {_pick(GIVEN_NAMES, "given")} || '  '
        ELSE {_pick(GIVEN_NAMES, "given")}
    END AS first_name,
    CASE WHEN {_chance("family_empty", 8)} THEN '' ELSE {_pick(FAMILY_NAMES, "family")} END AS last_name,
    {birth_date} AS birth_date,
    {_pick(GENDERS, "gender")} AS gender,
    CASE WHEN {_chance("addr_null", 50)} THEN NULL
        ELSE (1 + {_rand("no")} % 9999)::VARCHAR || ' ' || {_pick(STREETS, "street")} || ' St'
    END AS address,
    {cities}[1 + {_rand("city")} % {len(CITIES)}] AS city,
    {states}[1 + {_rand("city")} % {len(CITIES)}] AS state,
    CASE WHEN {_chance("zip_null", 60)} THEN NULL
        ELSE {zips}[1 + {_rand("city")} % {len(CITIES)}] || lpad(({_rand("zip")} % 100)::VARCHAR, 2, '0')
    END AS postal_code,
    CASE WHEN {_chance("phone_null", 300)} THEN NULL
        ELSE '(' || (200 + {_rand("ac")} % 800) || ') 555-' || lpad(({_rand("ph")} % 10000)::VARCHAR, 4, '0')
    END AS phone,
    CASE WHEN {_chance("email_null", 500)} THEN NULL ELSE 'patient' || p || '@example.org' END AS email,
    nullif({_pick(RACES, "race")}, '') AS race,
    nullif({_pick(ETHNICITIES, "eth")}, '') AS ethnicity
FROM numbered
"""


def _split(total: int) -> list[int]:
    """Rows per file: the shares of ``total``, XLSX capped, the remainder to Parquet."""
    counts = [int(total * f.share) for f in PATIENT_FILES]
    for index, spec in enumerate(PATIENT_FILES):
        if spec.writer == "xlsx":
            counts[index] = min(counts[index], MAX_XLSX_ROWS)
    parquet = next(i for i, f in enumerate(PATIENT_FILES) if f.writer == "parquet")
    counts[parquet] += total - sum(counts)
    return counts


def _write_xlsx(connection: duckdb.DuckDBPyConnection, select_sql: str, path: Path) -> None:
    import xlsxwriter

    result = connection.execute(select_sql)
    header = [d[0] for d in result.description]
    workbook = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    sheet = workbook.add_worksheet("patients")
    sheet.write_row(0, 0, header)
    row_number = 1
    while batch := result.fetchmany(10_000):
        for row in batch:
            sheet.write_row(row_number, 0, ["" if v is None else v for v in row])
            row_number += 1
    workbook.close()


def write_patient_files(out: Path, patients: int, seed: int) -> list[Path]:
    """Write the patient landing files under ``out/patients/``; return their paths."""
    folder = out / PATIENTS_SOURCE
    written: list[Path] = []
    first_row = 0
    with duckdb.connect() as connection:
        for spec, rows in zip(PATIENT_FILES, _split(patients), strict=True):
            if rows <= 0:
                continue
            date_style = "date" if spec.writer == "parquet" else "mixed"
            select = patient_rows_sql(first_row, rows, seed, date_style)
            path = folder / spec.name
            with atomic_path(path) as tmp:
                target = str(tmp).replace("'", "''")
                if spec.writer == "xlsx":
                    _write_xlsx(connection, select, tmp)
                elif spec.writer == "csv":
                    connection.execute(f"COPY ({select}) TO '{target}' (FORMAT csv, HEADER true)")
                elif spec.writer == "csv_semicolon":
                    connection.execute(
                        f"COPY ({select}) TO '{target}' (FORMAT csv, HEADER true, DELIMITER ';')"
                    )
                elif spec.writer == "parquet":
                    connection.execute(
                        f"COPY ({select}) TO '{target}' (FORMAT parquet, COMPRESSION zstd)"
                    )
                elif spec.writer == "ndjson":
                    connection.execute(f"COPY ({select}) TO '{target}' (FORMAT json)")
                else:
                    connection.execute(f"COPY ({select}) TO '{target}' (FORMAT json, ARRAY true)")
            written.append(path)
            first_row += rows
    return written


def write_patients(request: SampleDataRequest) -> list[Path]:
    """The ``patients`` sample source (the ``synthea`` source has its own generator)."""
    return write_patient_files(request.out, request.patients, request.seed)
