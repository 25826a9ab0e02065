"""Learning-rate schedules: each rule against its definition on drawn loss curves, and a resumed schedule continues exactly."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from aerann.training import schedules

losses = st.lists(st.floats(0.1, 10.0, allow_nan=False), min_size=1, max_size=30)


def rates(schedule, curve, rate=1.0):
    result = []
    for loss in curve:
        rate = schedule.next_rate(rate, loss)
        result.append(rate)
    return result


@settings(max_examples=50, deadline=None)
@given(losses)
def test_halve_on_rise_is_the_tutorials_rule(curve):
    expected, rate = [], 1.0
    for i, loss in enumerate(curve):
        if i and loss > curve[i - 1]:
            rate *= 0.5
        expected.append(rate)
    assert rates(schedules.build("halve-on-rise"), curve) == expected
    assert rates(schedules.build("none"), curve) == [1.0] * len(curve)


@settings(max_examples=50, deadline=None)
@given(losses, st.integers(1, 3), st.floats(1.5, 10.0))
def test_plateau_divides_after_patience_epochs_without_a_new_best(curve, patience, factor):
    expected, rate, best, waited = [], 1.0, None, 0
    for loss in curve:
        if best is None or loss < best:
            best, waited = loss, 0
        else:
            waited += 1
            if waited == patience:
                rate, waited = rate / factor, 0
        expected.append(rate)
    assert rates(schedules.build("plateau", patience=patience, factor=factor), curve) == pytest.approx(expected)


def test_plateau_by_default_divides_by_4_on_every_epoch_that_does_not_improve():
    # PyTorch's word_language_model: lr /= 4 whenever the validation loss is not a new best.
    assert rates(schedules.build("plateau"), [5.0, 4.0, 4.5, 3.0, 3.0, 2.0]) == [1, 1, 0.25, 0.25, 0.0625, 0.0625]


@settings(max_examples=30, deadline=None)
@given(losses, st.integers(1, 4))
def test_step_divides_every_few_epochs_whatever_the_loss(curve, every):
    got = rates(schedules.build("step", every=every, factor=2.0), curve)
    assert got == [0.5 ** ((i + 1) // every) for i in range(len(curve))]


@settings(max_examples=50, deadline=None)
@given(st.sampled_from(schedules.SCHEDULES), losses, st.data())
def test_a_schedule_resumed_from_its_state_continues_exactly(name, curve, data):
    split = data.draw(st.integers(0, len(curve)))
    whole = rates(schedules.build(name), curve)
    first = schedules.build(name)
    rate = rates(first, curve[:split])[-1] if split else 1.0
    state = json.loads(json.dumps(first.state()))  # as a checkpoint stores it
    resumed = schedules.build(name)
    resumed.load(state)
    assert whole[split:] == rates(resumed, curve[split:], rate)


def test_bad_schedules_and_options_are_named():
    with pytest.raises(ValueError, match="unknown schedule 'cosine': choose one of none, halve-on-rise, plateau, step"):
        schedules.build("cosine")
    with pytest.raises(ValueError, match=r"the schedule step has no option 'gamma' \(its options: factor, every\)"):
        schedules.build("step", gamma=0.1)
    with pytest.raises(ValueError, match=r"factor \(plateau\) must be in \(1, inf\), got 0.5"):
        schedules.build("plateau", factor=0.5)
    with pytest.raises(ValueError, match=r"every \(step\) must be positive, got 0"):
        schedules.build("step", every=0)
    with pytest.raises(ValueError, match="not a state of the schedule plateau"):
        schedules.build("plateau").load({"previous": 1.0})
