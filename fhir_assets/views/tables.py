"""Where each FHIR resource type's JSON lives in the warehouse, for ViewDefinitions.

The platform's convention for resource tables is schema ``fhir``, one table per resource
type, an ``id`` column and the resource's JSON text. :data:`RESOURCE_TABLES` lists the
tables that exist, with their asset keys (a view's asset depends on them); a view over a
resource type that has no table is refused, naming the type.
"""

from __future__ import annotations

import dataclasses

from fhir_assets.views.fhirpath import ViewError


@dataclasses.dataclass(frozen=True)
class ResourceTable:
    resource_type: str
    table: str  # logical schema.table
    json_column: str
    asset_key: tuple[str, ...]


def _resource_tables() -> dict[str, ResourceTable]:
    from fhir_assets.clinical.assets import MAPPINGS

    tables = {
        m.resource_type: ResourceTable(m.resource_type, m.table, "resource_json", tuple(m.key.path))
        for m in MAPPINGS
    }
    # Patients: the FHIR Patient pipeline's table. (The clinical resources' subjects are the
    # HealthSim patients, healthsim.fhir_patients, mapped by the same Patient mapping.)
    tables["Patient"] = ResourceTable(
        "Patient", "fhir.fhir_patients", "resource_json", ("fhir", "fhir_patients")
    )
    return tables


RESOURCE_TABLES: dict[str, ResourceTable] = _resource_tables()


def resource_table(resource_type: str) -> ResourceTable:
    try:
        return RESOURCE_TABLES[resource_type]
    except KeyError:
        known = ", ".join(sorted(RESOURCE_TABLES))
        raise ViewError(
            f"No warehouse table holds {resource_type} resources (tables exist for: {known})."
        ) from None
