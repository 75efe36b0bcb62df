"""Test-wide settings: fast XLA compiles, hypothesis profiles (CI: small and derandomized)."""

import os

import jax
from hypothesis import HealthCheck, settings

jax.config.update("jax_disable_most_optimizations", True)

settings.register_profile(
    "ci", max_examples=12, deadline=None, derandomize=True, print_blob=True,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
settings.register_profile(
    "thorough", max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
