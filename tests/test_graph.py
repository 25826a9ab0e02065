"""The scan driver: any stack of units, masks, truncation, hoisting and gradient clipping."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.graph.basic import applys_between
from aesara.scan.op import Scan

from aerann import graph, units
from aerann.backend import compiler
from aerann.units import RecurrentUnit


class Leaky(RecurrentUnit):
    """A third-party-style unit: only step(), no input projection."""

    name = "leaky"

    def __init__(self, n_in, n_out, rng):
        super().__init__(n_in, n_out)
        self.W = self.param("W", (n_in, n_out))

    def step(self, x_t, h):
        return 0.5 * h + at.tanh(x_t.dot(self.W))


def make_stack(seed=0):
    """gru -> lstm -> elman (relu) -> leaky, with random non-zero initial states."""
    rng = np.random.default_rng(seed)
    stack = [
        units.get("gru")(3, 4, rng),
        units.get("lstm")(4, 3, rng),
        units.get("elman")(3, 2, rng, activation="relu"),
        Leaky(2, 2, rng),
    ]
    for unit in stack:
        for h0 in unit.initial_states():
            h0.set_value(rng.normal(size=h0.get_value().shape))
    return stack


def scans(inputs, outputs):
    return list({node: None for node in applys_between(inputs, outputs) if isinstance(node.op, Scan)})


@pytest.fixture(scope="module")
def forward():
    """f(x, mask) -> every state sequence of every layer, then the per-sequence 'loss' of the top layer."""
    stack = make_stack()
    x, mask = at.tensor3("x"), at.matrix("mask")
    states, inputs = [], x
    for unit in stack:
        layer_states = graph.run_layer(unit, inputs, mask)
        states += layer_states
        inputs = layer_states[0]
    per_sequence = (mask * (inputs**2).sum(axis=-1)).sum(axis=0)
    fn = compiler.function([x, mask], states + [per_sequence])
    initial = [h0.get_value() for unit in stack for h0 in unit.initial_states()]
    return fn, initial


def padded_batch(rng, lengths, T):
    x = rng.normal(size=(T, len(lengths), 3))
    mask = np.zeros((T, len(lengths)))
    for b, n in enumerate(lengths):
        mask[:n, b] = 1
    return x, mask


def test_any_units_stack_and_every_state_has_shape_T_B_n_out(forward):
    fn, _ = forward
    x, mask = padded_batch(np.random.default_rng(1), [5, 2, 4], 5)
    *states, per_sequence = fn(x, mask)
    assert [s.shape for s in states] == [(5, 3, 4), (5, 3, 3), (5, 3, 3), (5, 3, 2), (5, 3, 2)]
    assert per_sequence.shape == (3,)


def test_padded_steps_keep_every_state_and_empty_sequences_keep_the_initial_states(forward):
    fn, initial = forward
    x, mask = padded_batch(np.random.default_rng(2), [5, 2, 0], 5)
    *states, _ = fn(x, mask)
    for state, h0 in zip(states, initial):
        np.testing.assert_allclose(state[:, 2], np.broadcast_to(h0, state[:, 2].shape))
        np.testing.assert_array_equal(state[2:, 1], np.broadcast_to(state[1, 1], state[2:, 1].shape))
        assert not np.allclose(state[4, 0], state[3, 0])


def test_a_padded_batch_gives_each_sequence_the_loss_it_has_alone(forward):
    fn, _ = forward
    lengths = [4, 1, 3]
    x, mask = padded_batch(np.random.default_rng(3), lengths, 6)
    x[mask == 0] = 99.0  # whatever sits in the padding must not matter
    batched = fn(x, mask)[-1]
    for b, n in enumerate(lengths):
        alone = fn(x[:n, b : b + 1], np.ones((n, 1)))[-1]
        np.testing.assert_allclose(batched[b], alone[0], rtol=1e-12)


def test_truncate_gradient_is_scans_own_on_every_layer():
    stack = make_stack()[:2]
    x, mask = at.tensor3("x"), at.matrix("mask")
    top = graph.run_stack(stack, x, mask, truncate_gradient=3)
    found = scans([x, mask], [top])
    assert len(found) == len(stack)
    assert all(node.op.truncate_gradient == 3 for node in found)
    full = graph.run_stack(stack, x, mask)
    assert all(node.op.truncate_gradient == -1 for node in scans([x, mask], [full]))


def test_truncated_gradients_reach_only_the_last_k_input_steps():
    unit = units.get("elman")(2, 3, np.random.default_rng(4))
    x = at.tensor3("x")
    mask = at.matrix("mask")
    grads = [
        aesara.grad(graph.run_layer(unit, x, mask, truncate_gradient=k)[0].sum(), x) for k in (2, -1)
    ]
    fn = compiler.function([x, mask], grads)
    truncated, full = fn(np.random.default_rng(5).normal(size=(5, 2, 2)), np.ones((5, 2)))
    assert not truncated[:3].any()
    assert np.abs(truncated[3:]).min() > 0
    assert np.abs(full[:3]).min() > 0


def test_input_projections_are_hoisted_out_of_the_loop_with_full_bptt():
    gru = units.get("gru")(2, 3, np.random.default_rng(0))
    x = at.tensor3("x")
    (hoisted,) = scans([x], [graph.run_layer(gru, x)[0]])
    (inside,) = scans([x], [graph.run_layer(gru, x, truncate_gradient=2)[0]])
    assert gru.params["Wxr"] not in hoisted.inputs and gru.params["Whr"] in hoisted.inputs
    assert gru.params["Wxr"] in inside.inputs


def test_gradient_clipping_is_off_by_default_and_inside_the_recurrence_when_asked():
    unit = units.get("elman")(2, 3, np.random.default_rng(0))
    x = at.tensor3("x")

    def clips(grad_clip):
        (node,) = scans([x], [graph.run_layer(unit, x, grad_clip=grad_clip)[0]])
        return [n for n in node.op.fgraph.apply_nodes if isinstance(n.op, aesara.gradient.GradClip)]

    assert clips(None) == []
    assert clips(5.0) and clips(5.0)[0].op.clip_upper_bound == 5.0


class TwoStates(RecurrentUnit):
    name = "twostates"
    states = ("h", "c")

    def step(self, x_t, h, c):
        return h


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"truncate_gradient": 0}, "truncate_gradient"),
        ({"truncate_gradient": -2}, "truncate_gradient"),
        ({"grad_clip": -1.0}, "grad_clip"),
    ],
)
def test_bad_driver_options_are_named(kwargs, message):
    unit = units.get("elman")(2, 3, 0)
    with pytest.raises(ValueError, match=message):
        graph.run_layer(unit, at.tensor3("x"), **kwargs)


def test_a_step_returning_the_wrong_number_of_states_is_named():
    with pytest.raises(ValueError, match="TwoStates.step returned 1 states, expected 2"):
        graph.run_layer(TwoStates(2, 2, 0), at.tensor3("x"))


@pytest.fixture(scope="module")
def stateful():
    """f(x, mask, *initial) -> the stack's top output and final states, forwards, then the same backwards."""
    stack = make_stack()
    x, mask = at.tensor3("x"), at.matrix("mask")
    initial = [[at.matrix(f"{unit.name}_{name}0") for name in unit.states] for unit in stack]
    outputs = []
    for backwards in (False, True):
        run = graph.scan_stack(stack, x, mask, initial=initial, backwards=backwards)
        outputs += [run.output, *[state for layer in run.final for state in layer]]
    fn = compiler.function([x, mask, *[s for layer in initial for s in layer]], outputs)
    count = sum(len(layer) for layer in initial)

    def call(x, mask, states, backwards=False):
        result = fn(x, mask, *states)
        half = result[count + 1 :] if backwards else result[: count + 1]
        return half[0], half[1:]

    widths = [unit.n_out for unit in stack for _ in unit.states]
    return call, widths


def random_states(rng, widths, batch):
    return [rng.normal(size=(batch, n)) for n in widths]


@pytest.mark.parametrize("split", [1, 3, 5])
def test_a_batch_run_in_two_chunks_carrying_the_final_states_equals_one_run(stateful, split):
    call, widths = stateful
    rng = np.random.default_rng(split)
    x, mask = padded_batch(rng, [6, 2, 4], 6)  # the split falls inside, at the end of and after sequences
    states = random_states(rng, widths, 3)
    whole, final = call(x, mask, states)
    first, carried = call(x[:split], mask[:split], states)
    second, final_of_chunks = call(x[split:], mask[split:], carried)
    np.testing.assert_allclose(np.concatenate([first, second]), whole, rtol=1e-12)
    for state, expected in zip(final_of_chunks, final):
        np.testing.assert_allclose(state, expected, rtol=1e-12)


def test_a_final_state_is_the_state_after_the_last_real_step(stateful):
    call, widths = stateful
    rng = np.random.default_rng(6)
    lengths = [5, 2, 0]
    x, mask = padded_batch(rng, lengths, 5)
    states = random_states(rng, widths, 3)
    top, final = call(x, mask, states)
    for b, n in enumerate(lengths):
        expected = top[n - 1, b] if n else states[-1][b]  # an empty sequence keeps its initial state
        np.testing.assert_allclose(final[-1][b], expected, rtol=1e-12)


def test_backwards_runs_each_right_padded_sequences_real_steps_last_to_first(stateful):
    call, widths = stateful
    rng = np.random.default_rng(7)
    lengths = [5, 3, 1]
    x, mask = padded_batch(rng, lengths, 5)
    x[mask == 0] = 99.0  # whatever sits in the padding must not matter
    states = random_states(rng, widths, 3)
    top, final = call(x, mask, states, backwards=True)
    for b, n in enumerate(lengths):
        alone = [s[b : b + 1] for s in states]
        forward_top, forward_final = call(x[:n, b : b + 1][::-1], np.ones((n, 1)), alone)
        np.testing.assert_allclose(top[:n, b], forward_top[::-1, 0], rtol=1e-12)
        for state, expected in zip(final, forward_final):
            np.testing.assert_allclose(state[b], expected[0], rtol=1e-12)


def test_the_learnable_initial_states_are_the_default(stateful, forward):
    call, widths = stateful
    fn, h0s = forward
    x, mask = padded_batch(np.random.default_rng(8), [4, 2], 4)
    top, _ = call(x, mask, [np.tile(h0, (2, 1)) for h0 in h0s])
    np.testing.assert_allclose(top, fn(x, mask)[-2], rtol=1e-12)


@pytest.mark.parametrize(
    "initial, message",
    [
        ([at.matrix()], r"lstm takes 2 initial state\(s\) \('h', 'c'\), got 1"),
        ([at.matrix(), at.tensor3()], "the initial state c of lstm must be a matrix"),
        ([at.matrix(), at.TensorType("float64", shape=(None, 5))()], "the initial state c of lstm must have 3 columns, got 5"),
        ([at.matrix(), at.matrix(dtype="int64")], "the initial state c of lstm must be float64, got int64"),
    ],
)
def test_bad_initial_states_are_named(initial, message):
    lstm = units.get("lstm")(2, 3, 0)
    with pytest.raises(ValueError, match=message):
        graph.run_layer(lstm, at.tensor3("x"), initial=initial)


def test_a_stack_needs_initial_states_for_every_layer_or_none():
    stack = make_stack()[:2]
    with pytest.raises(ValueError, match=r"initial states are given for 1 layer\(s\), but the stack has 2"):
        graph.scan_stack(stack, at.tensor3("x"), initial=[None])
