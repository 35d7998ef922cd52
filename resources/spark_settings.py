"""Settings of the Databricks / Spark deployment, read and validated from the environment.

One of two connections, chosen by which variables are set (first match wins):

1. ``SPARK_REMOTE=sc://host:port``: any Spark Connect endpoint (a local server, a cluster).
2. ``DATABRICKS_HOST`` with ``DATABRICKS_TOKEN`` or a service principal
   (``DATABRICKS_CLIENT_ID`` + ``DATABRICKS_CLIENT_SECRET``), and ``DATABRICKS_CLUSTER_ID``
   or ``DATABRICKS_SERVERLESS=true``: Databricks Connect.

A local Spark runs as a Spark Connect server (``narr_platform.spark_connect_server``).

Anything missing or malformed raises :class:`PlatformConfigError` naming the variables, when
the code location loads. Secrets are never read here: only whether they are set; the
resource reads them through ``dg.EnvVar`` when a run needs them.
"""

from __future__ import annotations

import dataclasses
import os
import re
from collections.abc import Mapping

from resources.deployment import PlatformConfigError

DEFAULT_DATABRICKS_CATALOG = "fhir_catalog"
DEFAULT_SPARK_CATALOG = "spark_catalog"
TABLE_FORMATS = ("delta", "parquet")

#: Logical schema (the asset key prefix) -> Unity Catalog schema. The FHIR domain lands in
#: ``fhir_resources``; ``raw_data`` and ``transformed_data`` keep their names; every other
#: domain keeps its own schema (``directory``, ``reference``, ``healthsim``, ``analytics``).
DEFAULT_SCHEMA_MAP: dict[str, str] = {
    "fhir": "fhir_resources",
    "raw": "raw_data",
    "raw_data": "raw_data",
    "transformed": "transformed_data",
    "transformed_data": "transformed_data",
    "fhir_resources": "fhir_resources",
    "directory": "directory",
    "reference": "reference",
    "healthsim": "healthsim",
    "analytics": "analytics",
}

_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclasses.dataclass(frozen=True)
class SparkSettings:
    """Validated connection and naming settings (no secret values)."""

    mode: str  # "connect" | "databricks"
    spark_remote: str | None = None
    databricks_host: str | None = None
    databricks_auth: str | None = None  # "token" | "service_principal"
    databricks_cluster_id: str | None = None
    databricks_serverless: bool = False
    catalog: str = DEFAULT_SPARK_CATALOG
    schema_map: Mapping[str, str] = dataclasses.field(default_factory=dict)
    schema_prefix: str = ""
    table_format: str = "parquet"
    landing_volume: str | None = None


def _identifier(name: str, value: str) -> str:
    if not _NAME.match(value):
        raise PlatformConfigError(
            f"{name}={value!r} is not a valid identifier (letters, digits, _)."
        )
    return value


def parse_schema_map(raw: str) -> dict[str, str]:
    """``"fhir=fhir_resources,directory=dir"`` -> mapping; names are validated."""
    mapping: dict[str, str] = {}
    for item in filter(None, (part.strip() for part in raw.split(","))):
        logical, sep, physical = item.partition("=")
        if not sep:
            raise PlatformConfigError(
                f"SPARK_SCHEMA_MAP entry {item!r} is not logical=physical "
                "(e.g. SPARK_SCHEMA_MAP=fhir=fhir_resources,directory=directory)."
            )
        mapping[_identifier("SPARK_SCHEMA_MAP", logical.strip()).lower()] = _identifier(
            "SPARK_SCHEMA_MAP", physical.strip()
        ).lower()
    return mapping


def _flag(name: str, raw: str) -> bool:
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise PlatformConfigError(f"{name}={raw!r} is not a boolean (true/false).")


def spark_settings_from_env(environ: Mapping[str, str] | None = None) -> SparkSettings:
    """Validate the Databricks/Spark variables; raise naming what is missing or wrong."""
    env = os.environ if environ is None else environ

    def get(name: str) -> str | None:
        value = env.get(name, "").strip()
        return value or None

    remote, host = get("SPARK_REMOTE"), get("DATABRICKS_HOST")
    kwargs: dict[str, object] = {}
    if remote:
        if not remote.startswith("sc://"):
            raise PlatformConfigError(f"SPARK_REMOTE={remote!r} must be a sc://host:port URL.")
        kwargs.update(mode="connect", spark_remote=remote)
        databricks = False
    elif host:
        missing: list[str] = []
        if get("DATABRICKS_TOKEN"):
            auth = "token"
        elif get("DATABRICKS_CLIENT_ID") and get("DATABRICKS_CLIENT_SECRET"):
            auth = "service_principal"
        else:
            auth = None
            missing.append(
                "DATABRICKS_TOKEN (or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET)"
            )
        serverless = _flag("DATABRICKS_SERVERLESS", env.get("DATABRICKS_SERVERLESS", ""))
        cluster = get("DATABRICKS_CLUSTER_ID")
        if not cluster and not serverless:
            missing.append("DATABRICKS_CLUSTER_ID (or DATABRICKS_SERVERLESS=true)")
        if missing:
            raise PlatformConfigError(
                "PLATFORM_DEPLOYMENT=databricks with DATABRICKS_HOST set is missing: "
                + "; ".join(missing)
                + "."
            )
        kwargs.update(
            mode="databricks",
            databricks_host=host,
            databricks_auth=auth,
            databricks_cluster_id=None if serverless else cluster,
            databricks_serverless=serverless,
        )
        databricks = True
    else:
        raise PlatformConfigError(
            "PLATFORM_DEPLOYMENT=databricks needs a Spark connection; neither SPARK_REMOTE nor "
            "DATABRICKS_HOST is set. Set SPARK_REMOTE=sc://host:port (a local server: python -m "
            "narr_platform.spark_connect_server start), or DATABRICKS_HOST with DATABRICKS_TOKEN "
            "(or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET) and DATABRICKS_CLUSTER_ID "
            "(or DATABRICKS_SERVERLESS=true)."
        )

    default_catalog = DEFAULT_DATABRICKS_CATALOG if databricks else DEFAULT_SPARK_CATALOG
    kwargs["catalog"] = _identifier("SPARK_CATALOG", get("SPARK_CATALOG") or default_catalog)
    schema_map = dict(DEFAULT_SCHEMA_MAP)
    schema_map.update(parse_schema_map(get("SPARK_SCHEMA_MAP") or ""))
    kwargs["schema_map"] = schema_map
    prefix = get("SPARK_SCHEMA_PREFIX") or ""
    if prefix:
        _identifier("SPARK_SCHEMA_PREFIX", prefix)
    kwargs["schema_prefix"] = prefix.lower()
    table_format = (get("SPARK_TABLE_FORMAT") or ("delta" if databricks else "parquet")).lower()
    if table_format not in TABLE_FORMATS:
        raise PlatformConfigError(
            f"SPARK_TABLE_FORMAT={table_format!r} is not one of {', '.join(TABLE_FORMATS)}."
        )
    kwargs["table_format"] = table_format
    volume = get("DATABRICKS_LANDING_VOLUME")
    if volume and not volume.startswith("/Volumes/"):
        raise PlatformConfigError(
            f"DATABRICKS_LANDING_VOLUME={volume!r} must be a /Volumes/<catalog>/<schema>/<volume> path."
        )
    if databricks and not volume:
        volume = f"/Volumes/{kwargs['catalog']}/{schema_map['raw_data']}/landing"
    kwargs["landing_volume"] = volume
    return SparkSettings(**kwargs)  # type: ignore[arg-type]
