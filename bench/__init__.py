"""Benchmarks and the data they are built on (`make bench` writes BENCHMARKS.md)."""
