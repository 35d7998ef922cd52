"""The OHDSI-style star schema (schema ``analytics``) and its checks."""
