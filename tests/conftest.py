"""Fixtures and settings for the nnlib tests."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import settings

# Modest, reproducible property tests; no .hypothesis/ database in the repository.
settings.register_profile("nnlib", max_examples=40, deadline=None, derandomize=True, database=None)
settings.load_profile("nnlib")


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(12345)
