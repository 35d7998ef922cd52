"""SQL of the FHIR Patient pipeline, shipped as package data."""
