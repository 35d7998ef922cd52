"""The whole clinical record as FHIR R4 resources, one asset per resource type, built in the engine from the canonical HealthSim tables."""
