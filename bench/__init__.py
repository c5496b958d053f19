"""Benchmarks: `make bench` runs them all and prints figures (`python -m bench NAME` runs one)."""
