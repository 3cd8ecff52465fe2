"""The HYPE-time staircase rule and its threshold estimate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from gancraft.evaluation.hype.staircase import (
    TARGET_ACCURACY,
    StaircaseRule,
    block_threshold,
    rater_threshold,
    simulate_rater,
    weibull_observer,
)


def test_three_correct_shorten_one_wrong_lengthens():
    rule = StaircaseRule()
    assert rule.next_exposure([]) == 500
    assert rule.exposures([True, True]) == [500, 500, 500]
    assert rule.next_exposure([True, True, True]) == 470
    assert rule.next_exposure([True, True, False]) == 530  # a wrong answer resets the run
    assert rule.next_exposure([True, True, False, True, True, True]) == 500


def test_exposures_stay_between_100_and_1000_ms():
    rule = StaircaseRule()
    assert min(rule.exposures([True] * 300)) == 100
    assert max(rule.exposures([False] * 100)) == 1000


def test_block_threshold_is_the_mode_and_ties_are_averaged():
    assert block_threshold([500, 470, 470, 440]) == 470
    assert block_threshold([500, 500, 470, 470]) == 485
    assert math.isnan(block_threshold([]))
    assert rater_threshold([[500, 470, 470], [300, 300, 330]]) == pytest.approx((470 + 300) / 2)


def test_simulated_observer_sits_at_the_target_accuracy():
    p = weibull_observer(300.0)
    assert p(300.0) == pytest.approx(TARGET_ACCURACY)
    assert p(100.0) < TARGET_ACCURACY < p(600.0)


@pytest.mark.parametrize("threshold", [200.0, 350.0, 500.0])
def test_staircase_recovers_a_known_threshold_within_60_ms(threshold):
    """Documented tolerance (docs/hype.md): 10 raters x 4 blocks x 50 trials -> mean within 60 ms."""
    estimates = [simulate_rater(threshold, blocks=4, trials_per_block=50, seed=s) for s in range(10)]
    assert abs(np.mean(estimates) - threshold) <= 60.0


def test_staircase_separates_fast_and_slow_observers():
    fast = np.mean([simulate_rater(200.0, seed=s) for s in range(5)])
    slow = np.mean([simulate_rater(450.0, seed=s) for s in range(5)])
    assert slow - fast > 150.0
