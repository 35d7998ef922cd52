"""FHIR R4 from raw patient files and Synthea, HealthSim clinical data and scenarios, and the OHDSI-style star schema."""
