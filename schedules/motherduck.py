"""MotherDuck: run the local deployment against ``md:<db>``, or publish the local file there.

DuckDB's ``motherduck`` extension reads the token from ``MOTHERDUCK_TOKEN`` (or the
``motherduck_token`` setting); this module checks it is present before any network call,
so a missing token fails with a message naming the variable instead of a login prompt.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from resources.deployment import PlatformConfigError
from resources.warehouse import sql_literal

TOKEN_ENV_VAR = "MOTHERDUCK_TOKEN"
DATABASE_ENV_VAR = "MOTHERDUCK_DATABASE"
DEFAULT_DATABASE = "narr_platform"
_DATABASE_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def motherduck_token(environ: Mapping[str, str] | None = None) -> str:
    """The token from the environment; raise naming the variable when it is missing."""
    env = os.environ if environ is None else environ
    token = (env.get(TOKEN_ENV_VAR) or env.get(TOKEN_ENV_VAR.lower()) or "").strip()
    if not token:
        raise PlatformConfigError(
            f"{TOKEN_ENV_VAR} is not set: MotherDuck needs a token (create one in the MotherDuck "
            f"UI under Settings > Access tokens) exported as {TOKEN_ENV_VAR}."
        )
    return token


def target_database(environ: Mapping[str, str] | None = None, name: str | None = None) -> str:
    env = os.environ if environ is None else environ
    database = (name or env.get(DATABASE_ENV_VAR, "").strip() or DEFAULT_DATABASE).strip()
    if not _DATABASE_NAME.match(database):
        raise PlatformConfigError(
            f"MotherDuck database name {database!r} must be a letter or underscore followed by "
            "letters, digits or underscores (set it with MOTHERDUCK_DATABASE)."
        )
    return database


def publish_statements(local_path: str | Path, database: str) -> list[str]:
    """The SQL the publish job runs on a connection carrying the token.

    ``ATTACH 'md:'`` signs in; ``CREATE OR REPLACE DATABASE <db> FROM '<file>'`` uploads the
    whole local file as a cloud database in one server-side copy (the previous cloud copy is
    replaced only when the upload succeeded).
    """
    if not _DATABASE_NAME.match(database):
        raise PlatformConfigError(
            f"MotherDuck database name {database!r} is not a plain identifier."
        )
    path = str(Path(local_path).expanduser().resolve())
    return ["ATTACH 'md:'", f"CREATE OR REPLACE DATABASE {database} FROM {sql_literal(path)}"]
