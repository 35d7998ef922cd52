"""Sample source for the state reference: the USPS code, name and FIPS code of each state."""

from __future__ import annotations

import csv
from pathlib import Path

from resources.geography import us_states
from resources.sample_files import SampleDataRequest, atomic_output

STATES_FILE = "reference/states/us_states.csv"


def write_states(request: SampleDataRequest) -> list[Path]:
    path = request.out / STATES_FILE
    with atomic_output(path, newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["usps", "name", "fips"])
        for state in us_states():
            writer.writerow([state.usps, state.name, state.fips])
    return [path]
