"""The Spark counterpart of ``DuckDBPandasIOManager`` for small tables returned as DataFrames.

An asset that returns a pandas DataFrame lands as ``<key prefix>.<key name>`` (the same
rule as the DuckDB IO manager: ``["reference", "x"]`` -> ``reference.x``); a downstream
asset receives the table as a DataFrame. No asset body knows which deployment it runs in.
"""

import dagster as dg
import pandas as pd

from resources.duckdb_io_manager import table_for as _table_for
from resources.spark_warehouse import SparkWarehouse

DEFAULT_SCHEMA = "public"


class SparkPandasIOManager(dg.ConfigurableIOManager):
    """Stores DataFrame outputs as Spark tables through the Spark warehouse."""

    warehouse: SparkWarehouse
    schema_name: str = DEFAULT_SCHEMA

    def handle_output(self, context: dg.OutputContext, obj: pd.DataFrame | None) -> None:
        if obj is None:
            return
        if not isinstance(obj, pd.DataFrame):
            raise TypeError(
                f"SparkPandasIOManager stores pandas DataFrames; {context.asset_key} returned "
                f"{type(obj).__name__}."
            )
        table = _table_for(context.asset_key, self.schema_name)
        with self.warehouse.session() as session:
            summary = session.create_table_from_df(table, obj)
        context.add_output_metadata(summary.metadata())

    def load_input(self, context: dg.InputContext) -> pd.DataFrame:
        table = _table_for(context.asset_key, self.schema_name)
        with self.warehouse.session() as session:
            return session.fetch_df(f"SELECT * FROM {table}")
