"""The single place that decides which deployment this process runs in.

`PLATFORM_DEPLOYMENT` selects where every asset lands:

- ``local`` (default): one embedded DuckDB file, no server and no cloud account.
- ``databricks``: Spark SQL on Databricks (Unity Catalog, Delta) or any Spark Connect endpoint.

Everything else in the code base asks :func:`current_deployment` instead of reading the
environment itself, so an invalid value fails once, at load, with the valid choices.
"""

from __future__ import annotations

import enum
import os
from collections.abc import Mapping

DEPLOYMENT_ENV_VAR = "PLATFORM_DEPLOYMENT"


class Deployment(enum.StrEnum):
    LOCAL = "local"
    DATABRICKS = "databricks"


class PlatformConfigError(ValueError):
    """A setting in the environment is missing or malformed; the message names it."""


def current_deployment(environ: Mapping[str, str] | None = None) -> Deployment:
    """Return the deployment selected by ``PLATFORM_DEPLOYMENT`` (default ``local``)."""
    env = os.environ if environ is None else environ
    raw = env.get(DEPLOYMENT_ENV_VAR, "").strip().lower() or Deployment.LOCAL.value
    try:
        return Deployment(raw)
    except ValueError:
        valid = ", ".join(repr(d.value) for d in Deployment)
        raise PlatformConfigError(
            f"{DEPLOYMENT_ENV_VAR}={env.get(DEPLOYMENT_ENV_VAR)!r} is not a known deployment; "
            f"valid values are {valid}."
        ) from None
