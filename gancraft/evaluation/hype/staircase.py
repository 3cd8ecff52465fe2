"""The HYPE-time adaptive staircase: which exposure to show next, and a block's threshold.

The rule (a transformed up-down staircase, Levitt 1971, "3-down/1-up"):

* a block starts at ``start_ms`` (500 ms);
* a wrong answer makes the next exposure one ``step_ms`` longer (30 ms);
* three correct answers in a row at the same exposure make it one step shorter;
* exposures are clamped to ``[min_ms, max_ms]`` (100 ms to 1000 ms).

Why this rule: judging real versus fake is a two-alternative task, so chance is
50 % correct. A 1-down/1-up staircase would settle where the rater is right half
the time, i.e. at chance, which says nothing. Three-down/one-up settles where
``p(correct)**3 == 1/2``, i.e. at 79.4 % correct, between chance and perfect where
the rater's psychometric curve is steep and the threshold is well defined; this is
the rule the HYPE paper cites (it rounds the target to 75 %).

A block's threshold is the mode of the exposures shown in it (ties: the mean of
the tied exposures); a rater's threshold is the mean of their block thresholds.
The exposure of every trial is a pure function of the answers before it in its
block, so the server recomputes it instead of trusting the browser, and a reload
shows the same exposure again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Levitt (1971): a 3-down/1-up staircase converges on p(correct) = 0.5 ** (1/3).
TARGET_ACCURACY = 0.5 ** (1.0 / 3.0)


@dataclass(frozen=True)
class StaircaseRule:
    """Parameters of the staircase; the defaults are the HYPE-time protocol."""

    start_ms: int = 500
    step_ms: int = 30
    min_ms: int = 100
    max_ms: int = 1000
    down_after: int = 3  # correct answers in a row before the exposure gets shorter

    def clamp(self, ms: int) -> int:
        return max(self.min_ms, min(self.max_ms, ms))

    def exposures(self, correct: Sequence[bool]) -> list[int]:
        """Exposure of every trial of a block given the answers so far: ``len(correct) + 1`` values.

        The last value is the exposure of the next (not yet answered) trial.
        """
        ms, run = self.clamp(self.start_ms), 0
        out = [ms]
        for ok in correct:
            if ok:
                run += 1
                if run >= self.down_after:
                    ms, run = self.clamp(ms - self.step_ms), 0
            else:
                ms, run = self.clamp(ms + self.step_ms), 0
            out.append(ms)
        return out

    def next_exposure(self, correct: Sequence[bool]) -> int:
        """Exposure for the trial after the answers in ``correct`` (same block)."""
        return self.exposures(correct)[-1]


def block_threshold(exposures: Sequence[int]) -> float:
    """Mode of the exposures shown in one block; ties are averaged."""
    if not exposures:
        return math.nan
    counts = Counter(int(e) for e in exposures)
    top = max(counts.values())
    tied = [e for e, n in counts.items() if n == top]
    return float(sum(tied)) / len(tied)


def rater_threshold(blocks: Sequence[Sequence[int]]) -> float:
    """Mean of the block thresholds over the blocks that have answers."""
    values = [block_threshold(b) for b in blocks if len(b)]
    return float(np.mean(values)) if values else math.nan


def weibull_observer(threshold_ms: float, slope: float = 3.0):
    """p(correct | exposure) of a simulated 2AFC observer whose 79.4 % point is ``threshold_ms``.

    ``p(t) = 0.5 + 0.5 * (1 - exp(-(t / a) ** slope))`` with ``a`` chosen so that
    ``p(threshold_ms) == TARGET_ACCURACY``, the point the staircase converges on.
    """
    # 1 - exp(-(T/a)^b) = 2*TARGET - 1  ->  (T/a)^b = -ln(2 - 2*TARGET)
    a = threshold_ms / (-math.log(2.0 - 2.0 * TARGET_ACCURACY)) ** (1.0 / slope)

    def p_correct(ms: float) -> float:
        return 0.5 + 0.5 * (1.0 - math.exp(-((ms / a) ** slope)))

    return p_correct


def simulate_rater(
    threshold_ms: float,
    *,
    blocks: int = 4,
    trials_per_block: int = 50,
    rule: StaircaseRule | None = None,
    seed: int = 0,
    slope: float = 3.0,
) -> float:
    """Run the staircase against a simulated observer and return the estimated threshold."""
    rule = rule or StaircaseRule()
    p_correct = weibull_observer(threshold_ms, slope)
    rng = np.random.default_rng(seed)
    shown: list[list[int]] = []
    for _ in range(blocks):
        answers: list[bool] = []
        exposures: list[int] = []
        for _ in range(trials_per_block):
            ms = rule.next_exposure(answers)
            exposures.append(ms)
            answers.append(bool(rng.random() < p_correct(ms)))
        shown.append(exposures)
    return rater_threshold(shown)
