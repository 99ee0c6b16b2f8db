"""Plain functions (no ctx) for runfleet.map tests, importable on workers via PYTHONPATH."""
import random

import numpy as np


def square(x):
    return x * x


def fragile(x):
    """Fails for items 3, 10, 17, ... (x % 7 == 3)."""
    if x % 7 == 3:
        raise ValueError(f"bad item {x}")
    return {"x": x, "half": x / 2}


def draws(x):
    """Draws from the global generators, which runfleet.map seeds per item."""
    return {"np": float(np.random.normal()), "py": random.random(), "arr": np.arange(x)}
