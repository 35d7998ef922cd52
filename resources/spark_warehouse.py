"""The Databricks / Spark deployment of the warehouse seam.

Selected by ``PLATFORM_DEPLOYMENT=databricks``. The connection comes from the environment:
``SPARK_REMOTE`` (any Spark Connect endpoint, e.g. ``sc://127.0.0.1:15002``) or
``DATABRICKS_HOST`` with ``DATABRICKS_TOKEN`` (or a service principal,
``DATABRICKS_CLIENT_ID`` + ``DATABRICKS_CLIENT_SECRET``).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator, Mapping

import dagster as dg
from pydantic import Field

from resources.deployment import PlatformConfigError
from resources.warehouse import Warehouse, WarehouseSession


def spark_settings_from_env(environ: Mapping[str, str] | None = None) -> dict[str, str | None]:
    """Validate the connection variables; raise naming what is missing."""
    env = os.environ if environ is None else environ
    remote = env.get("SPARK_REMOTE", "").strip() or None
    host = env.get("DATABRICKS_HOST", "").strip() or None
    if remote:
        return {"spark_remote": remote, "databricks_host": None}
    if host:
        has_token = bool(env.get("DATABRICKS_TOKEN", "").strip())
        has_principal = bool(env.get("DATABRICKS_CLIENT_ID", "").strip()) and bool(
            env.get("DATABRICKS_CLIENT_SECRET", "").strip()
        )
        if not (has_token or has_principal):
            raise PlatformConfigError(
                "PLATFORM_DEPLOYMENT=databricks with DATABRICKS_HOST set needs DATABRICKS_TOKEN, "
                "or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET; none is set."
            )
        return {"spark_remote": None, "databricks_host": host}
    raise PlatformConfigError(
        "PLATFORM_DEPLOYMENT=databricks needs a Spark connection: set SPARK_REMOTE "
        "(sc://host:port) or DATABRICKS_HOST with DATABRICKS_TOKEN "
        "(or DATABRICKS_CLIENT_ID and DATABRICKS_CLIENT_SECRET)."
    )


class SparkWarehouse(Warehouse):
    """Spark SQL warehouse (Databricks Unity Catalog or a Spark Connect endpoint)."""

    spark_remote: str | None = Field(default=None, description="Spark Connect URL (sc://host:port).")
    databricks_host: str | None = Field(default=None, description="Databricks workspace URL.")
    databricks_token: str | None = Field(default=None, description="Databricks token (secret).")
    catalog: str = Field(default="fhir_catalog", description="Unity Catalog catalog.")

    @property
    def engine(self) -> str:
        return "spark"

    def describe_target(self) -> str:
        return f"{self.spark_remote or self.databricks_host} catalog {self.catalog}"

    @contextlib.contextmanager
    def session(self) -> Iterator[WarehouseSession]:
        raise NotImplementedError(
            "The Spark/Databricks session is not implemented yet (issue 7); "
            f"configured target: {self.describe_target()}."
        )
        yield  # pragma: no cover


def build_spark_warehouse(environ: Mapping[str, str] | None = None) -> SparkWarehouse:
    settings = spark_settings_from_env(environ)
    token = dg.EnvVar("DATABRICKS_TOKEN") if settings["databricks_host"] else None
    return SparkWarehouse(
        spark_remote=settings["spark_remote"],
        databricks_host=settings["databricks_host"],
        databricks_token=token,
    )
