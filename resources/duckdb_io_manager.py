"""The pandas IO manager of the local deployment: small DataFrame tables in the DuckDB file.

It stores and loads DataFrames exactly as ``DuckDBPandasIOManager`` does (``["reference",
"x"]`` -> ``reference.x``), with two differences:

- An output without a value is passed over. Dagster routes the outputs of blocking asset
  checks through the ``io_manager`` whenever a check step has steps downstream (the gate of a
  blocking check), and those outputs are always ``None``; ``DuckDBPandasIOManager`` refuses
  them. Like ``SparkPandasIOManager``, this one stores nothing for them.
- An empty DataFrame becomes an empty table with the frame's columns.
  ``DuckDBPandasIOManager`` skips the write, so a downstream asset found no table (or the
  previous run's rows); ``SparkPandasIOManager`` writes the empty table too.
"""

import dagster as dg
import duckdb
import pandas as pd
from dagster_duckdb_pandas import DuckDBPandasIOManager

from resources.warehouse import check_table_name


def table_for(key: dg.AssetKey, default_schema: str = "public") -> str:
    """``schema.table`` of an asset key: the last two parts (one part: the default schema)."""
    path = key.path
    schema = path[-2] if len(path) > 1 else default_schema
    return f"{schema}.{path[-1]}"


class _WarehouseTables(dg.IOManager):
    def __init__(self, tables: dg.IOManager, database: str, config: dict) -> None:
        self._tables = tables
        self._database = database
        self._config = config

    def handle_output(self, context: dg.OutputContext, obj: object) -> None:
        if obj is None:
            return
        if isinstance(obj, pd.DataFrame) and obj.empty:
            table = check_table_name(table_for(context.asset_key))
            schema = table.split(".")[0]
            with duckdb.connect(self._database, config=self._config) as connection:
                connection.register("empty_frame", obj)
                connection.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
                connection.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM empty_frame")
            context.add_output_metadata({"dagster/row_count": 0})
            return
        self._tables.handle_output(context, obj)

    def load_input(self, context: dg.InputContext) -> object:
        return self._tables.load_input(context)


class WarehousePandasIOManager(DuckDBPandasIOManager):
    """Stores pandas DataFrames returned by assets as warehouse tables (DuckDB), passing over
    outputs without a value (blocking checks) and keeping empty tables.
    """

    def create_io_manager(self, context: dg.InitResourceContext) -> dg.IOManager:
        config = dict(self.connection_config or {})
        return _WarehouseTables(super().create_io_manager(context), self.database, config)
