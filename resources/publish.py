"""Write-audit-publish: a table that fails a blocking audit is never published.

An asset that writes a warehouse table calls ``session.publish(table, select_sql, audits)``
(:meth:`resources.warehouse.WarehouseSession.publish`):

1. **write** the result under the staged name ``<schema>._staged_<table>`` (the previous
   run's staged table of that asset, if any, is dropped first);
2. **audit** the staged table: every :class:`Audit` of the asset runs its SQL against it;
3. **publish** only when every blocking audit passed: the staged table replaces the
   published one in one transaction (DuckDB: ``DROP`` + ``ALTER TABLE ... RENAME``; Spark:
   an atomic Delta ``CREATE OR REPLACE``, or a rename of the Parquet table).

When a blocking audit fails, :class:`AuditFailed` is raised: the published table keeps its
rows, and the staged table stays for inspection until the asset's next run
(``narr-platform summary`` lists it). :func:`audited` turns that into a failed step that
still reports every audit as an asset check result, so the UI shows what failed on the
data that was not published. Audits are declared on the asset with :func:`audit_specs`.

One rule is written once: :func:`key_audit` (unique, non-null keys), :func:`sql_audit`
(rows matching a condition are violations), :func:`row_count_drop_audit`.
"""

from __future__ import annotations

import dataclasses
import functools
import os
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import dagster as dg

if TYPE_CHECKING:
    from resources.warehouse import TableSummary, WarehouseSession

#: Prefix of a staged table in the published table's schema: ``reference._staged_ref_svi_county``.
STAGED_PREFIX = "_staged_"
#: Comma-separated tables (``reference.ref_svi_county``) or ``all`` whose row-count drop an
#: operator accepts. As a run tag it holds for that run only; as an environment variable
#: for every run of the process that has it (e.g. one ``dagster job execute``).
ACCEPT_DROP_TAG = "narr/accept_row_count_drop"
ACCEPT_DROP_ENV = "NARR_ACCEPT_ROW_COUNT_DROP"
DEFAULT_MAX_ROW_COUNT_DROP = 0.10
#: Example keys and source files a failure names.
EXAMPLES = 5
LINEAGE_COLUMN = "source_file"
#: Check metadata: the seconds an audit's own queries took on the staged table.
AUDIT_SECONDS = "audit_seconds"


def staged_name(table: str) -> str:
    """``schema.table`` -> ``schema._staged_table``: where a table is built and audited."""
    schema, _, name = table.rpartition(".")
    return f"{schema}.{STAGED_PREFIX}{name}" if schema else f"{STAGED_PREFIX}{name}"


def is_staged(table: str) -> bool:
    return table.rpartition(".")[2].startswith(STAGED_PREFIX)


@dataclasses.dataclass(frozen=True)
class AuditContext:
    """What an audit rule sees: the staged table it judges and the published one."""

    session: WarehouseSession
    table: str
    published: str
    #: The files the asset read (named when the rows themselves carry no lineage).
    inputs: tuple[str, ...] = ()
    #: Figures the asset knows and the table does not (e.g. the source record count).
    facts: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    _memo: dict[str, Any] = dataclasses.field(default_factory=dict, repr=False)

    def memo(self, key: str, compute: Callable[[WarehouseSession, str], Any]) -> Any:
        """``compute(session, table)`` once per audited table: rules sharing one scan."""
        if key not in self._memo:
            self._memo[key] = compute(self.session, self.table)
        return self._memo[key]

    def has_column(self, column: str) -> bool:
        return column in {name for name, _ in self.session.columns(self.table)}

    def source_files(self, condition: str = "TRUE", limit: int = EXAMPLES) -> list[str]:
        """The source files of the staged rows matching ``condition``.

        From the rows' ``source_file`` lineage when they carry it; otherwise (or when no
        row matches, e.g. an empty file) every file the asset read.
        """
        if self.has_column(LINEAGE_COLUMN):
            rows = self.session.fetch_rows(
                f"SELECT DISTINCT {LINEAGE_COLUMN} FROM {self.table} WHERE {condition} "
                f"ORDER BY 1 LIMIT {int(limit)}"
            )
            found = [str(r[0]) for r in rows if r[0] is not None]
            if found:
                return found
        return list(self.inputs)


Rule = Callable[[AuditContext], dg.AssetCheckResult]


@dataclasses.dataclass(frozen=True)
class Audit:
    """One rule judged on the staged table; shown in the UI as an asset check."""

    name: str
    description: str
    rule: Rule
    blocking: bool = True

    def spec(self, asset_key: dg.AssetKey | Sequence[str]) -> dg.AssetCheckSpec:
        return dg.AssetCheckSpec(
            name=self.name,
            asset=dg.AssetKey(list(asset_key))
            if not isinstance(asset_key, dg.AssetKey)
            else asset_key,
            blocking=self.blocking,
            description=self.description,
        )

    def evaluate(self, context: AuditContext) -> dg.AssetCheckResult:
        started = time.perf_counter()
        result = self.rule(context)
        metadata = {
            **result.metadata,
            "audited_table": dg.MetadataValue.text(context.table),
            # What this audit's queries took (rules sharing one scan: the first pays it).
            AUDIT_SECONDS: dg.MetadataValue.float(round(time.perf_counter() - started, 3)),
        }
        if not result.passed and "source_files" not in metadata:
            # A rule without row lineage of its own: the files the table was built from.
            metadata["source_files"] = dg.MetadataValue.json(
                list(context.inputs) or context.source_files()
            )
        return dg.AssetCheckResult(
            check_name=self.name,
            passed=bool(result.passed),
            severity=dg.AssetCheckSeverity.ERROR if self.blocking else dg.AssetCheckSeverity.WARN,
            metadata=metadata,
        )


def audit_specs(asset_key: dg.AssetKey | Sequence[str], audits: Sequence[Audit]) -> list:
    """The ``check_specs`` of an asset that publishes through ``audits``."""
    return [audit.spec(asset_key) for audit in audits]


@dataclasses.dataclass(frozen=True)
class Publication:
    """A published table: its summary and the results of its audits."""

    summary: TableSummary
    check_results: tuple[dg.AssetCheckResult, ...]
    #: Wall seconds of each phase: ``stage`` (build), ``audit``, ``swap`` (publish).
    seconds: Mapping[str, float] = dataclasses.field(default_factory=dict)

    def metadata(self) -> dict[str, Any]:
        timings = {
            f"publish_{phase}_seconds": dg.MetadataValue.float(round(value, 3))
            for phase, value in self.seconds.items()
        }
        return {**self.summary.metadata(), **timings}


class AuditFailed(dg.Failure):
    """A blocking audit failed: the table was not published; the staged table is kept.

    A ``dg.Failure``: handlers that pass failures through keep it whole, and an asset that
    publishes without :func:`audited` still fails its step with this message.
    """

    def __init__(
        self,
        table: str,
        staged: str,
        check_results: Sequence[dg.AssetCheckResult],
        blocking: set[str],
    ) -> None:
        self.table = table
        self.staged = staged
        self.check_results = tuple(check_results)
        failed = [r for r in check_results if r.check_name in blocking and not r.passed]
        lines = [
            f"{table} was NOT published: {len(failed)} blocking check(s) failed on the staged "
            f"table {staged} (kept for inspection until the next run; the published table "
            "keeps its previous rows)."
        ]
        lines += [f"- {describe_failure(r)}" for r in failed]
        super().__init__(
            description="\n".join(lines),
            metadata={"staged_table": staged},
            allow_retries=False,
        )


def _value(entry: Any) -> Any:
    return getattr(entry, "value", entry)


def describe_failure(result: dg.AssetCheckResult) -> str:
    """``check: N failing rows; e.g. ...; source files: ...`` from a result's metadata."""
    meta = {
        k: _value(v)
        for k, v in result.metadata.items()
        if k not in ("audited_table", AUDIT_SECONDS)
    }
    parts = [f"check {result.check_name} failed"]
    if "failing_rows" in meta:
        parts.append(f"{meta.pop('failing_rows')} failing row(s)")
    if meta.get("examples"):
        parts.append(f"examples: {meta.pop('examples')}")
    if "source_files" in meta:
        files = meta.pop("source_files")
        parts.append(f"source file(s): {', '.join(files) if files else 'unknown'}")
    meta.pop("examples", None)
    if meta:
        parts.append(", ".join(f"{k}={v}" for k, v in meta.items()))
    return "; ".join(parts)


def outcome(
    failing_rows: int,
    examples: Sequence[str] = (),
    source_files: Sequence[str] = (),
    passed: bool | None = None,
    **extra: Any,
) -> dg.AssetCheckResult:
    """The result of a rule in the shape a failure message reads."""
    metadata: dict[str, Any] = {
        "failing_rows": dg.MetadataValue.int(int(failing_rows)),
        "examples": dg.MetadataValue.json(list(examples)),
        "source_files": dg.MetadataValue.json(list(source_files)),
        **extra,
    }
    return dg.AssetCheckResult(
        passed=failing_rows == 0 if passed is None else passed, metadata=metadata
    )


def _row_text(row: Sequence[Any]) -> str:
    return " / ".join(str(v) for v in row)


# -- the rules every domain shares ----------------------------------------------------------
def key_audit(
    keys: Sequence[str],
    name: str = "key_unique",
    description: str | None = None,
    not_null: bool = True,
    blocking: bool = True,
) -> Audit:
    """THE uniqueness / not-null rule: each key appears once (and no key column is NULL).

    A failure names a few duplicate keys with the source files that hold each copy.
    """
    key_list = ", ".join(keys)
    text = description or (
        f"Each ({key_list}) appears once" + (" and no key column is NULL." if not_null else ".")
    )

    # One scan decides the common case: with no NULL key, as many distinct keys as rows
    # means no duplicate. Only otherwise are the duplicate keys grouped and counted.
    distinct_key = (
        keys[0]
        if len(keys) == 1
        else "struct_pack({})".format(", ".join(f"{k} := {k}" for k in keys))
    )
    null_condition = " OR ".join(f"{k} IS NULL" for k in keys)

    def rule(ctx: AuditContext) -> dg.AssetCheckResult:
        t = ctx.table
        duplicate_keys = f"SELECT {key_list} FROM {t} GROUP BY {key_list} HAVING count(*) > 1"
        rows, distinct, null_rows = ctx.session.fetch_rows(
            f"SELECT count(*), count(DISTINCT {distinct_key}), "
            f"count(CASE WHEN {null_condition} THEN 1 END) FROM {t}"
        )[0]
        duplicates = 0
        if null_rows or distinct != rows:
            counted = f"SELECT count(*) FROM ({duplicate_keys}) AS d"
            duplicates = ctx.session.fetch_rows(counted)[0][0]
        nulls = null_rows if not_null else 0
        examples: list[str] = []
        files: list[str] = []
        lineage = ctx.has_column(LINEAGE_COLUMN)
        if duplicates:
            shown = f"{duplicate_keys} ORDER BY {key_list} LIMIT {EXAMPLES}"
            if lineage:
                # Every copy's file: the files that hold the same key.
                join = " AND ".join(f"t.{k} = d.{k}" for k in keys)
                rows = ctx.session.fetch_rows(
                    f"SELECT {', '.join(f'd.{k}' for k in keys)}, t.{LINEAGE_COLUMN}, count(*) "
                    f"FROM {t} AS t JOIN ({shown}) AS d ON {join} "
                    f"GROUP BY {', '.join(f'd.{k}' for k in keys)}, t.{LINEAGE_COLUMN} "
                    f"ORDER BY {', '.join(f'd.{k}' for k in keys)}, t.{LINEAGE_COLUMN}"
                )
                by_key: dict[str, list[str]] = {}
                for row in rows:
                    key_text = _row_text(row[: len(keys)])
                    copy = f"{Path(str(row[-2])).name} (x{row[-1]})"
                    by_key.setdefault(key_text, []).append(copy)
                    if row[-2] is not None and str(row[-2]) not in files:
                        files.append(str(row[-2]))
                examples = [f"{k} in {', '.join(v)}" for k, v in by_key.items()]
            else:
                examples = [_row_text(r) for r in ctx.session.fetch_rows(shown)]
        if nulls:
            rows = ctx.session.fetch_rows(
                f"SELECT {key_list} FROM {t} WHERE {null_condition} LIMIT {EXAMPLES}"
            )
            examples += [f"NULL key: {_row_text(r)}" for r in rows]
            files += [f for f in ctx.source_files(null_condition) if f not in files]
        extra: dict[str, Any] = {
            "duplicate_keys": int(duplicates),
            "rows_with_null_key": int(nulls),
        }
        return outcome(int(duplicates) + int(nulls), examples, files, **extra)

    return Audit(name=name, description=text, rule=rule, blocking=blocking)


def sql_audit(
    name: str,
    condition: str,
    shown: str,
    description: str,
    blocking: bool = True,
) -> Audit:
    """Rows of the staged table matching ``condition`` are violations (``shown`` as examples)."""

    def rule(ctx: AuditContext) -> dg.AssetCheckResult:
        (count,) = ctx.session.fetch_rows(f"SELECT count(*) FROM {ctx.table} WHERE {condition}")[0]
        examples: list[str] = []
        files: list[str] = []
        if count:
            examples = [
                _row_text(r)
                for r in ctx.session.fetch_rows(
                    f"SELECT {shown} FROM {ctx.table} WHERE {condition} LIMIT {EXAMPLES}"
                )
            ]
            files = ctx.source_files(condition)
        return outcome(int(count), examples, files)

    return Audit(name=name, description=description, rule=rule, blocking=blocking)


def rule_audit(
    name: str,
    description: str,
    evaluate: Callable[[WarehouseSession, str], dg.AssetCheckResult],
    blocking: bool = True,
) -> Audit:
    """An existing ``evaluate(session, table)`` rule, judged on the staged table."""
    return Audit(
        name=name,
        description=description,
        rule=lambda ctx: evaluate(ctx.session, ctx.table),
        blocking=blocking,
    )


def accepted_drops() -> set[str]:
    """Tables whose row-count drop an operator accepted for this run (tag or env var)."""
    values = [os.environ.get(ACCEPT_DROP_ENV, "")]
    context = _current_context()
    if context is not None:
        values.append(context.run.tags.get(ACCEPT_DROP_TAG, ""))
    return {part.strip() for value in values for part in value.split(",") if part.strip()}


def row_count_drop_audit(max_drop: float = DEFAULT_MAX_ROW_COUNT_DROP) -> Audit:
    """Blocks a publish that has more than ``max_drop`` fewer rows than the published table.

    An operator accepts the drop for one run with the run tag ``narr/accept_row_count_drop``
    (or the environment variable ``NARR_ACCEPT_ROW_COUNT_DROP``) naming the table or ``all``.
    """

    def rule(ctx: AuditContext) -> dg.AssetCheckResult:
        current = ctx.session.row_count(ctx.table)
        if not ctx.session.table_exists(ctx.published):
            return outcome(0, note="first publish: nothing to compare", current_rows=current)
        previous = ctx.session.row_count(ctx.published)
        drop = (previous - current) / previous if previous else 0.0
        accepted = bool({ctx.published, "all"} & accepted_drops())
        too_big = drop > max_drop
        return outcome(
            max(previous - current, 0) if too_big else 0,
            [f"{previous} -> {current} rows ({drop:.1%} fewer, at most {max_drop:.0%} allowed)"]
            if too_big
            else [],
            ctx.source_files() if too_big else [],
            passed=not too_big or accepted,
            current_rows=current,
            previous_rows=previous,
            drop_share=round(drop, 4),
            max_drop_share=max_drop,
            accepted_by_operator=accepted and too_big,
        )

    return Audit(
        name="row_count_drop",
        description=f"Blocks the publish when the row count falls by more than {max_drop:.0%} "
        f"versus the published table (accept one run with the run tag {ACCEPT_DROP_TAG}).",
        rule=rule,
    )


# -- the asset side ---------------------------------------------------------------------------
def audited(fn: Callable[..., Any]) -> Callable[..., Iterator[Any]]:
    """Decorate an asset body (under ``@dg.asset``) that publishes through audits.

    A :class:`AuditFailed` becomes a failed step that first reports every audit's result;
    a return value (``dg.MaterializeResult``) is passed on with the check results of the
    :class:`Publication` objects the body attached to it (``check_results=...``).
    """

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
        try:
            result = fn(*args, **kwargs)
        except AuditFailed as failure:
            yield from _selected(failure.check_results)
            raise failure
        if isinstance(result, dg.MaterializeResult) and result.check_results:
            result = dg.MaterializeResult(
                asset_key=result.asset_key,
                metadata=result.metadata,
                check_results=list(_selected(result.check_results)),
                data_version=result.data_version,
                tags=result.tags,
            )
        yield result

    return wrapper


def _selected(results: Sequence[dg.AssetCheckResult]) -> Iterator[dg.AssetCheckResult]:
    """Only the results of the checks selected in this run (the rest are still enforced)."""
    context = _current_context()
    if context is None:
        yield from results
        return
    names = {key.name for key in context.selected_asset_check_keys}
    yield from (r for r in results if r.check_name in names)


def _current_context() -> dg.OpExecutionContext | None:
    try:
        return dg.OpExecutionContext.get()
    except dg.DagsterInvariantViolationError:  # called outside a step (tests, CLI)
        return None
