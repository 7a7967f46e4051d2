"""Benchmarks (`make bench`): every figure is measured beside a raw-Temporal reference in the same run."""
