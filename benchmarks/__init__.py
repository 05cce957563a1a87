"""Benchmarks of nnlib (python benchmarks/run.py, make bench)."""
