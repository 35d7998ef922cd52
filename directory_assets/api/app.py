"""The directory as a read-only HTTP service (FastAPI), served by `narr-platform serve`.

Everything is answered from the published snapshot (``directory_assets.snapshot``), never
from the warehouse: the pipeline keeps its single-writer DuckDB file to itself, and the API
swaps to a new snapshot within ``poll_seconds`` of a publish. Radius search and the network
come from an in-memory ``DirectoryIndex``, text search from the tantivy index, details and
`/query` from the snapshot's read-only DuckDB copy (external access disabled).

Auth: `/statistics` and `/query` need ``Authorization: Bearer <token>`` where the token is
the ``NARR_API_TOKEN`` environment variable (compared in constant time). Without a
configured token those endpoints answer 503 and say so; they never open up.
"""

import asyncio
import contextlib
import functools
import hmac
import os
from pathlib import Path
from typing import Annotated, Literal

import duckdb
from fastapi import Depends, FastAPI, HTTPException, Query, Request
from fastapi import Path as PathParam
from fastapi.exceptions import RequestValidationError
from fastapi.openapi.docs import get_swagger_ui_html
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from pydantic import BaseModel, Field

from directory_assets import queries, snapshot
from directory_assets.api import sql_guard
from directory_assets.api.published import Published, SnapshotHolder

TOKEN_ENV_VAR = "NARR_API_TOKEN"
STATIC = Path(__file__).parent / "static"
OrgType = Literal["treatment_center", "narr_residence", "recovery_center", "recovery_organization"]
Service = Literal["mat", "otp", "outpatient", "residential", "inpatient"]
Payment = Literal["medicaid", "medicare", "private", "self_pay", "sliding_fee"]
QUERY_MAX_ROWS = 10_000
QUERY_DEFAULT_ROWS = 1_000


class QueryRequest(BaseModel):
    sql: str = Field(min_length=1, max_length=20_000, description="One read-only SELECT.")
    max_rows: int = Field(QUERY_DEFAULT_ROWS, ge=1, le=QUERY_MAX_ROWS)


def _unprocessable(parameter: str, message: str) -> JSONResponse:
    """A 422 shaped like FastAPI's own, naming the parameter."""
    return JSONResponse(
        status_code=422,
        content={"detail": [{"loc": ["query", parameter], "msg": message, "type": "value_error"}]},
    )


@functools.cache
def _zip_index() -> dict[str, tuple[float, float]]:
    from resources.geography import zip_places

    return {p.zip_code: (p.latitude, p.longitude) for p in zip_places()}


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name, "").strip()
    try:
        value = float(raw) if raw else default
    except ValueError:
        value = -1.0
    if not 0 < value <= 3600:
        raise ValueError(f"{name}={raw!r}: give a number of seconds between 0 and 3600.")
    return value


async def published(request: Request) -> Published:
    """The snapshot being served (503 with the reason when none is loaded)."""
    holder: SnapshotHolder = request.app.state.holder
    current = holder.current
    if current is None:
        raise HTTPException(503, holder.error or "No directory snapshot is loaded yet.")
    return current


async def require_token(request: Request) -> None:
    """Bearer-token auth, constant-time; 503 (never open) when no token is configured."""
    configured: str = request.app.state.token
    if not configured:
        raise HTTPException(
            503,
            f"Authentication is not configured: set {TOKEN_ENV_VAR} on the server to "
            "enable this endpoint (it never answers without a token).",
        )
    scheme, _, given = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), configured.encode()
    ):
        raise HTTPException(
            401, "Missing or wrong bearer token.", headers={"WWW-Authenticate": "Bearer"}
        )


Snapshot = Annotated[Published, Depends(published)]
Authorized = Depends(require_token)


def create_app(
    root: Path | None = None,
    token: str | None = None,
    poll_seconds: float | None = None,
    query_timeout_seconds: float | None = None,
) -> FastAPI:
    """The application. Defaults come from the environment: ``NARR_API_TOKEN``,
    ``NARR_API_POLL_SECONDS`` (1) and ``NARR_API_QUERY_TIMEOUT_SECONDS`` (5)."""
    if poll_seconds is None:
        poll_seconds = _env_seconds("NARR_API_POLL_SECONDS", 1.0)
    if query_timeout_seconds is None:
        query_timeout_seconds = _env_seconds("NARR_API_QUERY_TIMEOUT_SECONDS", 5.0)
    holder = SnapshotHolder(root or snapshot.snapshot_root(), poll_seconds=poll_seconds)
    configured_token = token if token is not None else os.environ.get(TOKEN_ENV_VAR, "")

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI):
        await asyncio.to_thread(holder.refresh)
        watcher = asyncio.create_task(holder.watch())
        try:
            yield
        finally:
            watcher.cancel()
            if holder.current is not None:
                holder.current.close()

    app = FastAPI(
        title="NARR recovery-services directory API",
        version="1",
        description=(
            "Read-only access to the published snapshot of the recovery-services directory. "
            "`/statistics` and `/query` need `Authorization: Bearer $" + TOKEN_ENV_VAR + "`."
        ),
        docs_url=None,
        redoc_url=None,
        lifespan=lifespan,
    )
    # The bundled Swagger UI (4.x, offline) reads OpenAPI 3.0 documents.
    app.openapi_version = "3.0.3"
    app.state.holder = holder
    app.state.token = configured_token
    app.mount("/static", StaticFiles(directory=STATIC), name="static")
    from swagger_ui_bundle import swagger_ui_path

    app.mount("/docs-assets", StaticFiles(directory=swagger_ui_path), name="docs-assets")

    @app.exception_handler(queries.QueryError)
    async def _query_error(request: Request, exc: queries.QueryError) -> JSONResponse:
        return _unprocessable(exc.parameter or "q", str(exc))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(status_code=422, content={"detail": list(exc.errors())})

    # -- pages ------------------------------------------------------------------------
    @app.get("/", include_in_schema=False)
    async def page() -> FileResponse:
        return FileResponse(STATIC / "index.html")

    @app.get("/favicon.ico", include_in_schema=False)
    async def favicon() -> FileResponse:
        return FileResponse(STATIC / "favicon.svg", media_type="image/svg+xml")

    @app.get("/docs", include_in_schema=False)
    async def docs() -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url="/openapi.json",
            title="NARR directory API",
            swagger_js_url="/docs-assets/swagger-ui-bundle.js",
            swagger_css_url="/docs-assets/swagger-ui.css",
            swagger_favicon_url="/docs-assets/favicon-32x32.png",
        )

    # -- API --------------------------------------------------------------------------
    @app.get("/api/v1/health", tags=["service"])
    async def health() -> JSONResponse:
        """Liveness and the published snapshot being served (no auth)."""
        current = holder.current
        if current is None:
            return JSONResponse(
                status_code=503, content={"status": "unavailable", "detail": holder.error}
            )
        manifest = current.manifest
        return JSONResponse(
            {
                "status": "ok",
                "snapshot": {
                    "version": manifest.version,
                    "published_at": manifest.published_at,
                    "loaded_at": current.loaded_at,
                    "organizations": manifest.tables.get("organizations"),
                    "search_documents": manifest.search_documents,
                },
                "swaps": holder.swaps,
                "warning": holder.error,
            }
        )

    def _point(
        lat: float | None, lon: float | None, zip_code: str | None
    ) -> tuple[float, float] | JSONResponse | None:
        if zip_code is not None:
            found = _zip_index().get(zip_code.strip()[:5])
            if found is None:
                return _unprocessable("zip", f"Unknown ZIP code {zip_code!r}.")
            return found
        if (lat is None) != (lon is None):
            return _unprocessable("lon" if lon is None else "lat", "Give both lat and lon.")
        return None if lat is None else (lat, lon)

    @app.get("/api/v1/organizations/nearby", tags=["directory"])
    async def nearby(
        current: Snapshot,
        lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
        lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
        zip: Annotated[
            str | None, Query(pattern=r"^\d{5}(-\d{4})?$", description="Instead of lat/lon.")
        ] = None,
        miles: Annotated[float, Query(gt=0, le=500)] = 10.0,
        type: Annotated[OrgType | None, Query()] = None,
        limit: Annotated[int, Query(ge=1, le=1000)] = 25,
    ) -> JSONResponse:
        """Organizations within `miles` (great-circle) of lat/lon or a ZIP, nearest first."""
        point = _point(lat, lon, zip)
        if isinstance(point, JSONResponse):
            return point
        if point is None:
            return _unprocessable("lat", "Give lat and lon, or zip.")
        rows = current.nearby(point[0], point[1], miles, limit, type)
        return JSONResponse(
            {
                "center": {"lat": point[0], "lon": point[1]},
                "count": len(rows),
                "organizations": rows,
            }
        )

    @app.get("/api/v1/organizations/search", tags=["directory"])
    async def search(
        current: Snapshot,
        q: Annotated[str, Query(min_length=1, max_length=200)],
        state: Annotated[str | None, Query(max_length=40)] = None,
        service: Annotated[Service | None, Query()] = None,
        payment: Annotated[Payment | None, Query()] = None,
        type: Annotated[OrgType | None, Query()] = None,
        lat: Annotated[float | None, Query(ge=-90, le=90)] = None,
        lon: Annotated[float | None, Query(ge=-180, le=180)] = None,
        zip: Annotated[str | None, Query(pattern=r"^\d{5}(-\d{4})?$")] = None,
        miles: Annotated[float, Query(gt=0, le=500)] = 25.0,
        limit: Annotated[int, Query(ge=1, le=100)] = 25,
    ) -> JSONResponse:
        """Relevance search (BM25; words in any order, prefixes, one typo per word), best first.

        With lat/lon or zip, only organizations within `miles` are returned, with their
        distance.
        """
        point = _point(lat, lon, zip)
        if isinstance(point, JSONResponse):
            return point
        near = None if point is None else (point[0], point[1], miles)
        rows = queries.search(
            current.search, q, state=state, service=service, payment=payment, limit=limit,
            org_type=type, near=near,
        )  # fmt: skip
        body = {"query": q, "count": len(rows), "organizations": rows}
        if point is not None:
            body["center"] = {"lat": point[0], "lon": point[1]}
        return JSONResponse(body)

    @app.get("/api/v1/organizations/{org_id}", tags=["directory"])
    def organization(
        current: Snapshot,
        org_id: Annotated[str, PathParam(pattern=r"^org_[0-9a-f]{16}$")],
        neighbours: Annotated[int, Query(ge=0, le=25)] = 10,
    ) -> JSONResponse:
        """One organization with its type's details and its nearest network neighbours."""
        found = current.organization(org_id, neighbours)
        if found is None:
            raise HTTPException(404, f"No organization {org_id} in the published snapshot.")
        return JSONResponse(found)

    @app.get("/api/v1/statistics", tags=["analytics"], dependencies=[Authorized])
    async def statistics(current: Snapshot) -> JSONResponse:
        """Directory statistics per state and type, and the `v_*` summaries (auth)."""
        return JSONResponse({"snapshot_version": current.manifest.version, **current.statistics})

    @app.post("/api/v1/query", tags=["analytics"], dependencies=[Authorized])
    def query(current: Snapshot, body: QueryRequest) -> JSONResponse:
        """One read-only SELECT over the published `directory` tables (auth).

        Refused with 400 and the reason: several statements, DDL, DML, ATTACH, COPY, PRAGMA,
        INSTALL/LOAD, SET, tables outside the published schema, and every function that
        reads files or URLs. At most `max_rows` rows (`truncated` says when there were
        more); interrupted after the server's timeout (408).
        """
        try:
            sql = sql_guard.check(body.sql)
        except sql_guard.RefusedQuery as exc:
            raise HTTPException(400, str(exc)) from exc
        try:
            return JSONResponse(current.run_query(sql, body.max_rows, query_timeout_seconds))
        except duckdb.InterruptException as exc:
            raise HTTPException(
                408, f"The query ran longer than {query_timeout_seconds:g} s and was stopped."
            ) from exc
        except duckdb.Error as exc:
            raise HTTPException(400, f"The query failed: {str(exc).splitlines()[0]}") from exc

    return app


def serve(host: str, port: int, workers: int = 1, log_level: str = "info") -> None:
    import uvicorn

    uvicorn.run(
        "directory_assets.api.app:create_app",
        factory=True,
        host=host,
        port=port,
        workers=workers,
        log_level=log_level,
        access_log=False,
    )
