"""PopulationSim reference data: geography lookups, CDC PLACES, SVI and ADI."""
