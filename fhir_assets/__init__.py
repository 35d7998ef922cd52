"""FHIR R4 Patient pipeline: raw patient files to FHIR resources, quality and Bulk export."""
