"""Benchmarks that print their figures (run as ``python -m bench.<name>``; see README.md)."""
