"""Contract suites: one per store port, run against every adapter."""
