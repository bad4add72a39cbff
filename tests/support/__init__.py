"""Helpers shared by the test suites: locations of reference data, the local control plane."""
