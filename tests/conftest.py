"""Shared test setup: aerann configures Aesara before any test imports it."""

import os

import aerann  # noqa: F401  (sets Aesara's flags before aesara is imported)
from hypothesis import HealthCheck, settings

settings.register_profile(
    "default",
    deadline=None,
    max_examples=int(os.environ.get("AERANN_HYPOTHESIS_EXAMPLES", "20")),
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile("default")
