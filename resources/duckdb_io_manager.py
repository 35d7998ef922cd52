"""The pandas IO manager of the local deployment: small DataFrame tables in the DuckDB file.

``DuckDBPandasIOManager`` refuses an output that carries no value. Dagster routes the
outputs of blocking asset checks through the ``io_manager`` whenever a check step has
steps downstream (the gate of a blocking check), and those outputs are always ``None``. Like
``SparkPandasIOManager``, this one stores nothing for them; a DataFrame is stored and
loaded exactly as ``DuckDBPandasIOManager`` does.
"""

import dagster as dg
from dagster_duckdb_pandas import DuckDBPandasIOManager


class _SkipEmptyOutputs(dg.IOManager):
    def __init__(self, tables: dg.IOManager) -> None:
        self._tables = tables

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return
        self._tables.handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> object:
        return self._tables.load_input(context)


class WarehousePandasIOManager(DuckDBPandasIOManager):
    """``DuckDBPandasIOManager`` that passes over outputs without a value (asset checks)."""

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        return _SkipEmptyOutputs(super().create_io_manager(context))
