"""Pallas kernels and operator microbenchmarks."""
