"""HealthSim clinical data: canonical Synthea-shaped tables, scenarios, and the star schema.

Lives inside ``fhir_assets`` because its canonical patients feed the same FHIR Patient
mapping as the FHIR pipeline (``fhir_assets.patient_mapping``): one clinical domain, one
mapping, two sources of patients.
"""
