"""Hypothesis settings for the property tests: reproducible and quick by default.

The ``ci`` profile (the default) is derandomized, so every run, here or in CI, tries the same
examples and a failure reproduces exactly; it keeps no example database (nothing is written
into the checkout). ``HYPOTHESIS_PROFILE=thorough`` explores randomly and far longer, for a
local bug hunt (then add what it finds as an ``@example``).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

settings.register_profile(
    "ci",
    derandomize=True,
    database=None,
    max_examples=80,
    # No timing in tests: a loaded CI machine must not turn a slow example into a failure.
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
    print_blob=False,
)
settings.register_profile(
    "thorough",
    max_examples=5000,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
