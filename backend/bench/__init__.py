"""Reproducible benchmarks: each module prints its figures (see docs/PERFORMANCE.md)."""
