"""Scenario state management: saved entity sets, JSON export/import, legacy migration."""
