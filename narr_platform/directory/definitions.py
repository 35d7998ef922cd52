"""Everything the recovery-services directory contributes to the code location."""

import dagster as dg

defs = dg.Definitions()
