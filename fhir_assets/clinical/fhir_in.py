"""FHIR in: Bulk Data NDJSON files and Bundles landed in ``data/landing/fhir`` as tables.

``fhir_in/resources`` reads every ``*.ndjson`` file (one resource per line, as a FHIR Bulk
export writes it, whatever the types) and every ``*.json`` file (a Bundle, as Synthea
writes one per patient, or a single resource) inside the engine
(``sql/fhir_in_resources.sql``) and publishes the usable resources to ``fhir_in.resources``
(type, id, JSON, file and line). Every other item is quarantined in
``fhir_in.rejected_resources`` with its file, line, reason and an OperationOutcome saying
why (severity, issue type, diagnostics and the FHIRPath of the element at fault): not a
resource, an unsupported type, a bad id, a missing or impossible key date, a patient or
encounter that did not land usable, an earlier copy; read = loaded + quarantined. ``fhir_in/imported_<type>_resources`` holds the resources of
one type (``fhir_in.imported_patients``, ``fhir_in.imported_encounter_resources``, ...).
"""

import dagster as dg

from fhir_assets.clinical.assets import FHIR_RESOURCES, MAPPINGS
from resources import LandingZone, Warehouse
from resources.landing import source_files_metadata
from resources.normalize import render
from resources.publish import audit_specs, audited, key_audit, row_count_drop_audit
from resources.sql_files import load_sql

FHIR_IN_SOURCE = "fhir"
RESOURCES = "fhir_in.resources"
REJECTED = "fhir_in.rejected_resources"
ITEMS = "fhir_in_items"
RESOURCES_SQL = render(load_sql("fhir_assets.clinical.sql", "fhir_in_resources"))

#: One OperationOutcome per quarantined item, built as JSON text like the mappings.
REJECTED_SQL = f"""
SELECT
    source_file,
    source_line,
    resource_type,
    id,
    reason,
    issue_code,
    expression,
    substr(resource_json, 1, 500) AS raw_excerpt,
    '{{"resourceType":"OperationOutcome","issue":[{{"severity":'
        || CASE issue_code WHEN 'duplicate' THEN '"warning"' ELSE '"error"' END
        || ',"code":' || json_quote(issue_code)
        || ',"diagnostics":' || json_quote(source_file || ' line ' || CAST(source_line AS VARCHAR)
            || ': ' || reason)
        || coalesce(',"expression":[' || json_quote(expression) || ']', '')
        || '}}]}}' AS outcome_json
FROM {ITEMS}
WHERE reason IS NOT NULL
ORDER BY source_file, source_line
"""

#: The resource types FHIR in stores, each with its table.
TYPE_TABLES = {
    "Patient": "imported_patients",
    **{m.resource_type: f"imported_{m.table_name}" for m in MAPPINGS},
}

AUDITS = [key_audit(["resource_type", "id"], name="resource_ids_unique"), row_count_drop_audit()]


@FHIR_RESOURCES.asset(
    ["fhir_in", "resources"],
    sql=RESOURCES_SQL,
    check_specs=audit_specs(["fhir_in", "resources"], AUDITS),
    description=(
        "Every FHIR resource that landed in data/landing/fhir (Bulk Data NDJSON, Bundles, "
        "single resources) and can be used: type, id, the resource JSON, file and line. "
        "Items that cannot (not JSON, no or unsupported resourceType, no valid id, a missing "
        "or impossible date, a patient or encounter that did not land usable, an earlier "
        "copy of a resource) are in fhir_in.rejected_resources with an OperationOutcome; "
        "read = loaded + rejected."
    ),
)
@audited
def fhir_in_resources(
    context: dg.AssetExecutionContext, warehouse: Warehouse, landing: LandingZone
) -> dg.MaterializeResult:
    ndjson = landing.files(FHIR_IN_SOURCE, "*.ndjson")
    documents = landing.files(FHIR_IN_SOURCE, "*.json")
    context.log.info(
        f"{len(ndjson)} NDJSON and {len(documents)} JSON file(s) in {landing.folder(FHIR_IN_SOURCE)}"
    )
    with warehouse.session() as session:
        for view, paths in (("fhir_in_ndjson", ndjson), ("fhir_in_json", documents)):
            if paths:
                session.register_file_view(view, paths, "text")
            else:
                session.execute(
                    f"CREATE OR REPLACE TEMP VIEW {view} AS SELECT CAST(NULL AS VARCHAR) AS text, "
                    "CAST(NULL AS VARCHAR) AS source_file WHERE 1 = 0"
                )
        session.execute(f"CREATE OR REPLACE TEMP TABLE {ITEMS} AS {RESOURCES_SQL}")
        published = session.publish(
            RESOURCES,
            f"SELECT resource_type, id, resource_json, source_file, source_line FROM {ITEMS} "
            "WHERE reason IS NULL",
            AUDITS,
            sources=[*ndjson, *documents],
        )
        rejected = session.create_table_as(REJECTED, REJECTED_SQL)
        by_type = dict(
            session.fetch_rows(
                f"SELECT resource_type, count(*) FROM {RESOURCES} GROUP BY 1 ORDER BY 1"
            )
        )
        (read,) = session.fetch_rows(f"SELECT count(*) FROM {ITEMS}")[0]
    if rejected.row_count:
        context.log.warning(f"{rejected.row_count} item(s) rejected; see {REJECTED}")
    return dg.MaterializeResult(
        check_results=published.check_results,
        metadata={
            **published.metadata(),
            "items_read": int(read),
            "rejected_items": rejected.row_count,
            "resources_by_type": dg.MetadataValue.json({k: int(v) for k, v in by_type.items()}),
            **source_files_metadata([*ndjson, *documents]),
        },
    )


def build_type_table(resource_type: str, table_name: str) -> dg.AssetsDefinition:
    table = f"fhir_in.{table_name}"
    sql = (
        f"SELECT id, resource_json, source_file, source_line FROM {RESOURCES} "
        f"WHERE resource_type = '{resource_type}'"
    )
    audits = [key_audit(["id"], name="ids_unique")]

    @FHIR_RESOURCES.asset(
        ["fhir_in", table_name],
        sql=sql,
        deps=[fhir_in_resources],
        check_specs=audit_specs(["fhir_in", table_name], audits),
        description=f"The landed {resource_type} resources (from fhir_in.resources), one per id.",
    )
    @audited
    def _type_table(warehouse: Warehouse) -> dg.MaterializeResult:
        with warehouse.session() as session:
            published = session.publish(table, sql, audits)
        return dg.MaterializeResult(
            check_results=published.check_results, metadata=published.metadata()
        )

    return _type_table


FHIR_IN_ASSETS = [
    fhir_in_resources,
    *(build_type_table(kind, name) for kind, name in TYPE_TABLES.items()),
]
