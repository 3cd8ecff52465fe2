"""Benchmark fixtures. Run: ``make bench`` (all, JSON to results/cpu.json) or
``pytest benchmarks/test_roofline.py --benchmark-enable -s``.

Every benchmark records its rate (steps/s, images/s) and the conditions (threads,
load average) in ``extra_info``, so that the JSON alone says what was measured.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent))  # `import harness`

import harness  # noqa: E402


def record_rate(benchmark, per_call: int, unit: str, **extra) -> float | None:
    """Put ``per_call / mean time`` into ``extra_info[unit]`` (plus ``extra``); returns it."""
    benchmark.extra_info.update(extra)
    benchmark.extra_info.update({k: v for k, v in harness.machine().items() if k in ("threads", "load_avg_1m")})
    if benchmark.stats is None:  # --benchmark-disable: ran once as a test
        return None
    stats = benchmark.stats.stats
    rate = per_call / stats.mean
    benchmark.extra_info[unit] = round(rate, 4)
    benchmark.extra_info[f"{unit}_best"] = round(per_call / stats.min, 4)
    print(f"\n{benchmark.name}: {rate:.3f} {unit} (best {per_call / stats.min:.3f})")
    return rate


@pytest.fixture()
def rate():
    return record_rate
