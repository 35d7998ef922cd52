"""The one loader of the ``.sql`` files that sit beside the assets that run them.

``load_sql("fhir_assets.sql", "patient_data")`` reads ``fhir_assets/sql/patient_data.sql``
from the installed package (so it works from a wheel as well as a checkout). Every file is
written once, in DuckDB's dialect; the Spark warehouse translates it when it runs.
"""

from __future__ import annotations

from functools import cache
from importlib import resources as package_files


@cache
def load_sql(package: str, name: str) -> str:
    """The text of ``<package>/<name>.sql`` (``name`` may already end in ``.sql``)."""
    filename = name if name.endswith(".sql") else f"{name}.sql"
    return package_files.files(package).joinpath(filename).read_text(encoding="utf-8")
