"""The FHIR R4 Patient mapping: one SQL file, run inside the engine by the warehouse.

This is the contract other domains (HealthSim) use to turn their patients into the same
FHIR resources: build a SELECT returning :data:`PATIENT_MAPPING_INPUT_COLUMNS` and call
:func:`map_patients`. There is no second mapping.

The SQL (``sql/patient_to_fhir.sql``) is written once in DuckDB's dialect and is portable
to Spark SQL through sqlglot (string concatenation, ``concat_ws``, ``json_quote`` on scalars).
Absent elements are omitted from the JSON (FHIR forbids nulls); see the SQL's header.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from resources.publish import Audit, Publication
from resources.sql_files import load_sql
from resources.warehouse import WarehouseSession, check_table_name

#: The name of the relation the mapping SQL reads (a temporary view of ``input_sql``).
MAPPING_INPUT_VIEW = "patient_mapping_input"

#: Identifier systems (``Patient.identifier.system``), documented in docs/fhir.md.
GENERIC_IDENTIFIER_SYSTEM = "urn:narr-platform:patient-id"
SYNTHEA_IDENTIFIER_SYSTEM = "https://github.com/synthetichealth/synthea"

#: The normalized input the mapping reads: name -> type (DuckDB names; Spark maps them).
#: Text is trimmed with '' as NULL. ``gender`` may be male/female/other/unknown or M/F/O/U
#: (any case; anything else maps to ``unknown``); ``race``/``ethnicity`` are text such as
#: Synthea's ``white``/``nonhispanic`` (coded to the US Core OMB categories when known).
PATIENT_MAPPING_INPUT_COLUMNS: dict[str, str] = {
    "patient_id": "VARCHAR",  # the FHIR id and identifier value ([A-Za-z0-9.-]{1,64})
    "identifier_system": "VARCHAR",  # URI of the system that issued patient_id
    "name_prefix": "VARCHAR",
    "given_name": "VARCHAR",
    "family_name": "VARCHAR",
    "name_suffix": "VARCHAR",
    "gender": "VARCHAR",
    "birth_date": "DATE",
    "deceased_date": "DATE",
    "address_line": "VARCHAR",
    "city": "VARCHAR",
    "state": "VARCHAR",  # USPS code preferred
    "postal_code": "VARCHAR",
    "country": "VARCHAR",  # ISO 3166 code, e.g. US
    "phone": "VARCHAR",
    "email": "VARCHAR",
    "race": "VARCHAR",
    "ethnicity": "VARCHAR",
    "source_file": "VARCHAR",  # lineage: the file (or system) the patient came from
}

#: Columns a mapping input may add; when absent they are NULL and their members omitted.
#: ``marital_status`` is a v3-MaritalStatus code (M, S, D, W, ...) or text, ``county`` the
#: county name (``Address.district``), ``latitude``/``longitude`` the home address's
#: coordinates (the geolocation extension), the amounts the lifetime healthcare expenses
#: and coverage in USD (project extensions, as R4 has no element for them:
#: ``urn:narr-platform:fhir:extension:healthcare-expenses`` and ``...:healthcare-coverage``).
OPTIONAL_MAPPING_INPUT_COLUMNS: dict[str, str] = {
    "marital_status": "VARCHAR",
    "county": "VARCHAR",
    "latitude": "DOUBLE",
    "longitude": "DOUBLE",
    "healthcare_expenses": "DECIMAL(18, 2)",
    "healthcare_coverage": "DECIMAL(18, 2)",
}

#: Columns of the mapped table: ``id``, the resource as JSON text, and query columns.
FHIR_PATIENT_COLUMNS = (
    "id",
    "resource_json",
    "identifier_system",
    "family_name",
    "given_name",
    "gender",
    "birth_date",
    "deceased_date",
    "city",
    "state",
    "postal_code",
    "latitude",
    "longitude",
    "race_code",
    "ethnicity_code",
    "source_file",
)


def patient_mapping_sql() -> str:
    """The mapping SELECT (reads :data:`MAPPING_INPUT_VIEW`), from its one ``.sql`` file."""
    return load_sql("fhir_assets.sql", "patient_to_fhir")


def mapping_input_sql(input_sql: str, available: Collection[str] = ()) -> str:
    """``input_sql`` cast to the contract's columns and types, in the contract's order.

    An optional column (:data:`OPTIONAL_MAPPING_INPUT_COLUMNS`) is read from the input when
    it is among ``available`` (the input's columns), else it is NULL.
    """
    casts = ",\n    ".join(
        [
            f"CAST({name} AS {dtype}) AS {name}"
            for name, dtype in PATIENT_MAPPING_INPUT_COLUMNS.items()
        ]
        + [
            f"CAST({name if name in available else 'NULL'} AS {dtype}) AS {name}"
            for name, dtype in OPTIONAL_MAPPING_INPUT_COLUMNS.items()
        ]
    )
    return f"SELECT\n    {casts}\nFROM (\n{input_sql}\n) AS mapping_source"


def map_patients(
    session: WarehouseSession,
    input_sql: str,
    target_table: str,
    audits: Sequence[Audit] = (),
) -> Publication:
    """Map the rows of ``input_sql`` to FHIR Patient resources in ``target_table``.

    ``input_sql`` is a SELECT returning at least the columns of
    :data:`PATIENT_MAPPING_INPUT_COLUMNS`, and any of :data:`OPTIONAL_MAPPING_INPUT_COLUMNS`
    (other columns are ignored). It is registered as
    the temporary view ``patient_mapping_input`` and the table is published through
    ``audits`` (built staged, audited, swapped in atomically), inside the engine, with
    ``resource_json`` stored as a document column.
    """
    check_table_name(target_table)
    available = {
        c.lower() for c in session.fetch_df(f"SELECT * FROM ({input_sql}) AS probe LIMIT 0").columns
    }
    missing = [name for name in PATIENT_MAPPING_INPUT_COLUMNS if name not in available]
    if missing:
        raise ValueError(f"The patient mapping input lacks the columns {missing}.")
    session.execute(
        f"CREATE OR REPLACE TEMP VIEW {MAPPING_INPUT_VIEW} AS\n"
        f"{mapping_input_sql(input_sql, available)}"
    )
    return session.publish(
        target_table, patient_mapping_sql(), audits, document_columns=("resource_json",)
    )
