"""Everything the operations domain contributes to the code location."""

import dagster as dg

defs = dg.Definitions()
