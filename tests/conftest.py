"""Shared test configuration: Hypothesis profiles and oracle helpers.

Profiles: ``ci`` (default; bounded, fast), ``thorough`` (nightly-style:
``pytest --hypothesis-profile=thorough``), ``dev`` (quick local loop).
"""

from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

_common = dict(
    deadline=None,  # Numba compiles on first call: wall-clock deadlines are meaningless
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                           HealthCheck.filter_too_much],
    print_blob=True,
)
settings.register_profile("ci", max_examples=25, **_common)
settings.register_profile("thorough", max_examples=400, **_common)
settings.register_profile("dev", max_examples=8, **_common)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
