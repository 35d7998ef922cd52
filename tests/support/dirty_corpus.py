"""The dirty-corpus generator: real exports as they arrive after people touched them.

Each function takes clean files (the real Synthea sample in ../shared, or the HealthSim
generator's Synthea-layout output) and writes one kind of damage from issue 14, returning
what it did so a test can assert on exactly those rows:

- :func:`resave_in_spreadsheet`: semicolons, ``M/D/YYYY`` dates, ZIPs without their leading
  zeros, numbers with a locale's thousands separators (a spreadsheet's "Save as CSV").
- :func:`append_short_rows`: rows with too few fields (a truncated copy-paste).
- :func:`corrupt_values`: ZIPs ``0``/``00000``, coordinates with text, amounts with units,
  coordinates in another state.
- :func:`append_orphans`: clinical rows whose patient or encounter does not exist.
- :func:`lookup_first_workbook`: an XLSX whose first sheet is a code table.
- :func:`empty_file`, :func:`file_without_columns`.
- :func:`directory_duplicates` and :func:`svi_two_vintages` (directory and reference).
"""

from __future__ import annotations

import csv
import dataclasses
import re
import shutil
from collections.abc import Iterable, Sequence
from pathlib import Path


@dataclasses.dataclass
class Damage:
    """What a damage function changed: rows touched (by key) and rows added."""

    path: Path
    touched: dict[str, dict[str, str]] = dataclasses.field(default_factory=dict)
    added: int = 0


def read_rows(path: Path, delimiter: str = ",") -> tuple[list[str], list[dict[str, str]]]:
    with path.open(newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle, delimiter=delimiter)
        return list(reader.fieldnames or []), list(reader)


def write_rows(
    path: Path, header: Sequence[str], rows: Iterable[dict[str, str]], delimiter: str = ","
) -> None:
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(header), delimiter=delimiter)
        writer.writeheader()
        writer.writerows(rows)


def data_rows(path: Path) -> int:
    """Data lines of a CSV file (its header excluded), as a person would count them."""
    with path.open(encoding="utf-8") as handle:
        return max(sum(1 for line in handle if line.strip()) - 1, 0)


_ISO_DATE = re.compile(r"^(\d{4})-(\d{2})-(\d{2})$")
_ISO_TIME = re.compile(r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})Z$")
_NUMBER = re.compile(r"^-?\d+\.\d+$")


def _us_date(value: str) -> str:
    m = _ISO_DATE.match(value)
    if m:
        return f"{int(m[2])}/{int(m[3])}/{m[1]}"
    m = _ISO_TIME.match(value)
    if m:
        return f"{int(m[2])}/{int(m[3])}/{m[1]} {int(m[4])}:{m[5]}"
    return value


def _grouped(value: str) -> str:
    if not _NUMBER.match(value):
        return value
    whole, _, fraction = value.partition(".")
    sign = "-" if whole.startswith("-") else ""
    digits = whole.lstrip("-")
    groups = []
    while len(digits) > 3:
        groups.insert(0, digits[-3:])
        digits = digits[:-3]
    groups.insert(0, digits)
    return f"{sign}{','.join(groups)}.{fraction[:2] if len(fraction) > 2 else fraction}"


def resave_in_spreadsheet(
    path: Path,
    date_columns: Sequence[str] = ("BIRTHDATE", "DEATHDATE", "START", "STOP"),
    zip_columns: Sequence[str] = ("ZIP",),
    money_columns: Sequence[str] = ("HEALTHCARE_EXPENSES", "HEALTHCARE_COVERAGE"),
) -> Damage:
    """Re-save a CSV as a spreadsheet does: ``;`` delimiter, US dates, stripped ZIP zeros,
    grouped thousands in amounts. ``touched`` holds each row's original values by Id."""
    header, rows = read_rows(path)
    damage = Damage(path)
    key = header[0]
    for row in rows:
        damage.touched[row[key]] = dict(row)
        for column in date_columns:
            if row.get(column):
                row[column] = _us_date(row[column])
        for column in zip_columns:
            if row.get(column):
                row[column] = row[column].lstrip("0") or "0"
        for column in money_columns:
            if row.get(column):
                row[column] = _grouped(row[column])
    write_rows(path, header, rows, delimiter=";")
    return damage


def append_short_rows(path: Path, count: int = 1, delimiter: str = ",") -> Damage:
    """Append ``count`` rows with only three fields (line numbers: after the existing rows)."""
    with path.open("a", encoding="utf-8") as handle:
        for index in range(count):
            handle.write(delimiter.join([f"short-{index}", "x", "y"]) + "\n")
    return Damage(path, added=count)


def corrupt_values(path: Path, corruptions: dict[int, dict[str, str]]) -> Damage:
    """Overwrite fields of data rows (by 0-based index); ``touched`` maps Id -> new values."""
    header, rows = read_rows(path)
    damage = Damage(path)
    for index, values in corruptions.items():
        rows[index].update(values)
        damage.touched[rows[index][header[0]]] = values
    write_rows(path, header, rows)
    return damage


def append_orphans(path: Path, template_index: int, columns: dict[str, str], count: int) -> Damage:
    """Append ``count`` copies of a row with ``columns`` replaced (e.g. an unknown PATIENT)."""
    header, rows = read_rows(path)
    template = dict(rows[template_index])
    for index in range(count):
        row = dict(template)
        row.update({k: v.format(index=index) for k, v in columns.items()})
        rows.append(row)
    write_rows(path, header, rows)
    return Damage(path, added=count)


def lookup_first_workbook(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    """An XLSX whose FIRST sheet is a code table (id, description), the data on the second."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    lookup = workbook.add_worksheet("codes")
    lookup.write_row(0, 0, ["id", "description"])
    lookup.write_row(1, 0, ["M", "male"])
    lookup.write_row(2, 0, ["F", "female"])
    data = workbook.add_worksheet("patients")
    data.write_row(0, 0, list(header))
    for index, row in enumerate(rows, start=1):
        data.write_row(index, 0, list(row))
    workbook.close()
    return path


def lookup_only_workbook(path: Path) -> Path:
    """An XLSX with only a code table: no sheet meets the patients contract."""
    import xlsxwriter

    workbook = xlsxwriter.Workbook(str(path))
    sheet = workbook.add_worksheet("codes")
    sheet.write_row(0, 0, ["id", "description"])
    sheet.write_row(1, 0, ["M", "male"])
    workbook.close()
    return path


def empty_file(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def file_without_columns(path: Path, header: Sequence[str], rows: Sequence[Sequence[str]]) -> Path:
    """A CSV that lacks some contract columns (e.g. no birth_date, no gender)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def svi_two_vintages(real_2022: Path, folder: Path, changed_column: str = "RPL_THEMES") -> Path:
    """The real SVI 2022 file beside an 'SVI 2020' copy whose values differ (older vintage).

    Returns the 2020 file; every 2020 ``changed_column`` is 0.4321 so a test can tell them apart.
    """
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(real_2022, folder / real_2022.name)
    with real_2022.open(encoding="utf-8-sig", newline="") as handle:
        reader = csv.DictReader(handle)
        header = list(reader.fieldnames or [])
        rows = [dict(row, **{changed_column: "0.4321"}) for row in reader]
    target = folder / "SVI_2020_PA_county.csv"
    write_rows(target, header, rows)
    return target
