"""The end-of-run summary `make run` prints: tables, row counts, checks, where to look next."""

from __future__ import annotations

from typing import Any

import dagster as dg

from resources import build_resources, current_deployment


def _latest_check_results(job_name: str = "materialize_all") -> list[dict[str, Any]]:
    """Check results of the newest run of ``job_name`` in the instance at DAGSTER_HOME."""
    try:
        instance = dg.DagsterInstance.get()
    except dg.DagsterInvariantViolationError:  # no DAGSTER_HOME: nothing recorded
        return []
    with instance:
        runs = instance.get_runs(filters=dg.RunsFilter(job_name=job_name), limit=1)
        if not runs:
            return []
        entries = instance.all_logs(
            runs[0].run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION
        )
        results = []
        for entry in entries:
            evaluation = entry.asset_check_evaluation
            if evaluation is None:
                continue
            results.append(
                {
                    "asset": evaluation.asset_key.to_user_string(),
                    "check": evaluation.check_name,
                    "passed": evaluation.passed,
                    "severity": evaluation.severity.value,
                    "run_id": runs[0].run_id,
                }
            )
        return sorted(results, key=lambda r: (r["asset"], r["check"]))


def build_summary() -> dict[str, Any]:
    warehouse = build_resources()["warehouse"]
    with warehouse.session() as session:
        tables = [
            {"table": name, "kind": kind, "rows": session.row_count(name)}
            for name, kind in session.list_tables()
        ]
        staged = [
            {"table": name, "rows": session.row_count(name)}
            for name in session.list_staged_tables()
        ]
    checks = _latest_check_results()
    return {
        "deployment": current_deployment().value,
        "target": warehouse.describe_target(),
        "tables": tables,
        "staged": staged,
        "checks": checks,
        "checks_failed": [
            c
            for c in checks
            if not c["passed"] and c["severity"] == dg.AssetCheckSeverity.ERROR.value
        ],
    }


def render_summary(report: dict[str, Any]) -> str:
    lines = [f"Warehouse ({report['deployment']}): {report['target']}", ""]
    width = max((len(t["table"]) for t in report["tables"]), default=10)
    lines.append(f"{'table':<{width}}  {'kind':<5} {'rows':>12}")
    for t in report["tables"]:
        lines.append(f"{t['table']:<{width}}  {t['kind']:<5} {t['rows']:>12,}")
    if report.get("staged"):
        lines += [
            "",
            "Staged tables NOT published (a blocking check failed; kept until the next run):",
        ]
        for t in report["staged"]:
            lines.append(f"  {t['table']:<{width}}  {t['rows']:>12,} rows")
    checks = report["checks"]
    passed = sum(c["passed"] for c in checks)
    lines += ["", f"Asset checks: {passed} passed, {len(checks) - passed} failed"]
    for c in checks:
        if not c["passed"]:
            lines.append(f"  FAILED [{c['severity']}] {c['asset']} :: {c['check']}")
    lines += [
        "",
        "Open the UI:   make ui   (then http://127.0.0.1:3000)",
        "Query it:      .venv/bin/python -c \"import duckdb; print(duckdb.connect('data/warehouse.duckdb', read_only=True).sql('SHOW ALL TABLES'))\"",
    ]
    return "\n".join(lines)
