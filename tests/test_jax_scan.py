"""aerann's JAX ``Scan`` (aerann.backend.jax_scan) and JAX fixes (aerann.backend.jax_ops) agree with the C backend.

Every graph is a raw Aesara graph, compiled once per module for both
backends through ``aerann.backend.compiler.function``; in float64 the JAX results must
equal the C backend's to 1e-10.  Sizes are symbolic unless a test says
otherwise: trace-time shape folding (aerann.backend.jax_ops) lets one compiled JAX
function serve every sequence length.
"""


import os
import subprocess
import sys
import textwrap

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.link.jax.linker import JAXLinker
from aesara.scan.op import Scan, ScanInfo
from aesara.tensor.special import softmax

from aerann.backend import compiler

jax = pytest.importorskip("jax")

TOLERANCE = dict(rtol=1e-10, atol=1e-10)
_compiled = {}


backend = compiler.backend


def both(key, build):
    """(C function, JAX function) of the graph ``build()`` -> (inputs, outputs[, updates]), cached by key."""
    if key not in _compiled:
        inputs, outputs, *rest = build()
        updates = rest[0] if rest else None
        functions = []
        for name in ("c", "jax"):
            with backend(name):
                functions.append(compiler.function(inputs, outputs, updates=updates))
        _compiled[key] = tuple(functions)
    return _compiled[key]


def assert_agree(c_values, jax_values):
    assert len(c_values) == len(jax_values)
    for c_value, jax_value in zip(c_values, jax_values):
        np.testing.assert_allclose(np.asarray(jax_value), c_value, **TOLERANCE)


def scan_infos(function):
    """The ScanInfo of every Scan node the compiled function runs."""
    return [node.op.info for node in function.maker.fgraph.apply_nodes if isinstance(node.op, Scan)]


def has_mit_mot(function):
    return any(info.n_mit_mot for info in scan_infos(function))


def rng():
    return np.random.default_rng(42)


# ----------------------------------------------------------------- graphs


def build_elman():
    """1 sequence, 1 sit_sot, 1 non-sequence; loss and gradients."""
    x, h0, W = at.dmatrix("x"), at.dvector("h0"), at.dmatrix("W")
    hs, _ = aesara.scan(
        lambda x_t, h, W: at.tanh(x_t + at.dot(h, W)), sequences=[x], outputs_info=[h0], non_sequences=[W]
    )
    loss = (hs**2).sum()
    return [x, h0, W], [hs, loss] + aesara.grad(loss, [x, h0, W])


def build_taps():
    """A sequence with taps (-2, 0, 1) and a mit_sot with taps (-3, -1)."""
    x, y0, a = at.dmatrix("x"), at.dmatrix("y0"), at.dscalar("a")

    def step(x_m2, x_0, x_p1, y_m3, y_m1, a):
        return a * y_m1 + 0.5 * at.tanh(y_m3) + x_0 * x_m2 - x_p1

    ys, _ = aesara.scan(
        step,
        sequences=[dict(input=x, taps=[-2, 0, 1])],
        outputs_info=[dict(initial=y0, taps=[-3, -1])],
        non_sequences=[a],
    )
    loss = (ys**2).sum()
    return [x, y0, a], [ys, loss] + aesara.grad(loss, [x, y0, a])


def build_nit_sot():
    """A nit_sot output (no state) and a sit_sot in the same scan.

    Only the last value of the sit_sot is used, so Aesara keeps a short
    circular buffer for it (the rotation path of the output layout).
    """
    x, W, c0 = at.dmatrix("x"), at.dmatrix("W"), at.dvector("c0")

    def step(x_t, c, W):
        y_t = at.sigmoid(at.dot(x_t, W))
        return y_t, c + y_t

    [ys, cs], _ = aesara.scan(step, sequences=[x], outputs_info=[None, c0], non_sequences=[W])
    loss = (ys * at.arange(ys.shape[0])[:, None]).sum() + (cs[-1] ** 2).sum()
    return [x, W, c0], [ys, cs[-1], loss] + aesara.grad(loss, [x, W, c0])


def build_shared_update(total):
    """A scan that updates a tensor shared variable at every step (through its updates)."""
    x = at.dvector("x")
    ys, updates = aesara.scan(lambda x_t: (2 * x_t, {total: total + x_t}), sequences=[x])
    return [x], [ys], updates


def build_n_steps():
    """No sequence: a sit_sot run for a constant number of steps."""
    h0, A = at.dvector("h0"), at.dmatrix("A")
    hs, _ = aesara.scan(lambda h, A: at.tanh(at.dot(A, h)), outputs_info=[h0], non_sequences=[A], n_steps=4)
    loss = hs.sum()
    return [h0, A], [hs, loss] + aesara.grad(loss, [h0, A])


def build_tutorial(params, truncate_gradient, length=None):
    """The tutorial's RNNTheano: loss, gradients and an SGD step on shared U, V, W."""
    U, V, W = params
    x, y = (at.tensor("int32", shape=(length,), name=name) for name in "xy")
    learning_rate = at.dscalar("learning_rate")

    def step(x_t, s_prev, U, V, W):
        s_t = at.tanh(U[:, x_t] + W.dot(s_prev))
        return softmax(V.dot(s_t), axis=-1), s_t

    [o, _], _ = aesara.scan(
        step,
        sequences=x,
        outputs_info=[None, dict(initial=at.zeros(U.shape[0]))],
        non_sequences=[U, V, W],
        truncate_gradient=truncate_gradient,
        strict=True,
    )
    loss = -at.log(o[at.arange(x.shape[0]), y]).sum()
    grads = aesara.grad(loss, [U, V, W])
    updates = [(p, p - learning_rate * g) for p, g in zip(params, grads)]
    return [x, y, learning_rate], [loss, at.argmax(o, axis=1)] + grads, updates


def gru_step(m_t, x_t, h, Wx, Wh):
    """A GRU-like masked step on a batch: x_t (B, E) -> h (B, H)."""
    n = h.shape[1]
    gates = at.dot(x_t, Wx[:, : 2 * n]) + at.dot(h, Wh[:, : 2 * n])
    r, z = at.sigmoid(gates[:, :n]), at.sigmoid(gates[:, n:])
    hhat = at.maximum(at.dot(x_t, Wx[:, 2 * n:]) + at.dot(r * h, Wh[:, 2 * n:]), 0)
    new = (1 - z) * h + z * hhat
    return (m_t[:, None] * new + (1 - m_t[:, None]) * h,)


def lstm_step(m_t, x_t, h, c, Wx, Wh):
    """An LSTM-like masked step with two states h and c."""
    n = h.shape[1]
    pre = at.dot(x_t, Wx) + at.dot(h, Wh)
    i, f, o = (at.sigmoid(pre[:, k * n:(k + 1) * n]) for k in range(3))
    c_new = f * c + i * at.tanh(pre[:, 3 * n:])
    h_new = o * at.tanh(at.clip(c_new, -3.0, 3.0))
    keep = 1 - m_t[:, None]
    return m_t[:, None] * h_new + keep * h, m_t[:, None] * c_new + keep * c


def build_stack(params, shape=(None, None)):
    """Masked batch language model, time-major: embedding -> GRU-like -> LSTM-like -> softmax.

    One scan per layer; returns inputs, [loss, predictions, *grads] and the SGD updates.
    """
    E, gru_Wx, gru_Wh, lstm_Wx, lstm_Wh, Wout = params
    X, Y = at.tensor("int32", shape=shape, name="X"), at.tensor("int32", shape=shape, name="Y")
    mask = at.tensor("float64", shape=shape, name="mask")

    def zeros(Wh):
        return at.zeros((X.shape[1], Wh.shape[0]))

    h1, _ = aesara.scan(gru_step, sequences=[mask, E[X]], outputs_info=[zeros(gru_Wh)], non_sequences=[gru_Wx, gru_Wh])
    (h2, _), _ = aesara.scan(
        lstm_step, sequences=[mask, h1], outputs_info=[zeros(lstm_Wh)] * 2, non_sequences=[lstm_Wx, lstm_Wh]
    )
    logits = at.dot(h2, Wout)
    picked = at.take_along_axis(softmax(logits, axis=-1), Y[:, :, None], axis=-1)[:, :, 0]
    loss = -(mask * at.log(picked)).sum()
    grads = aesara.grad(loss, params)
    updates = [(p, p - 0.1 * g) for p, g in zip(params, grads)]
    return [X, Y, mask], [loss, at.argmax(logits, axis=-1)] + grads, updates


# ------------------------------------------------------------------ tests


def test_the_backend_block_compiles_for_jax_and_restores_the_previous_backend():
    assert compiler.get_backend() == "c" and not isinstance(compiler.mode().linker, JAXLinker)
    with pytest.raises(RuntimeError, match="inside"):
        with compiler.backend("jax"):
            assert compiler.get_backend() == "jax" and isinstance(compiler.mode().linker, JAXLinker)
            raise RuntimeError("inside")
    assert compiler.get_backend() == "c"
    with pytest.raises(ValueError, match="unknown backend 'cuda'"):
        with compiler.backend("cuda"):
            pass


def test_register_is_idempotent_and_enables_x64():
    from aerann.backend import jax_scan

    jax_scan.register()
    jax_scan.register()
    from aesara.link.jax.dispatch import jax_funcify

    assert jax_funcify.dispatch(Scan) is jax_scan.jax_funcify_scan
    assert jax.config.jax_enable_x64 == (aesara.config.floatX == "float64")


@pytest.mark.parametrize("steps", ["1", "3"])
def test_the_unroll_setting_reaches_lax_scan_and_keeps_the_numbers(steps, monkeypatch):
    monkeypatch.setenv("AERANN_JAX_SCAN_UNROLL", steps)
    inputs, outputs = build_elman()
    with backend("jax"):
        function = compiler.function(inputs, outputs)
    r = rng()
    values = [r.normal(size=(7, 3)), r.normal(size=3), r.normal(size=(3, 3))]
    assert_agree(both("elman", build_elman)[0](*values), function(*values))
    jaxpr = str(jax.make_jaxpr(function.vm.jit_fn)(*values))
    assert jaxpr.count(f"unroll={steps}") == 2, "the forward and the backward scan"


@pytest.mark.parametrize("value", ["0", "-2", "four"])
def test_a_bad_unroll_setting_is_a_clear_error(value, monkeypatch):
    from aerann.backend import jax_scan

    monkeypatch.setenv("AERANN_JAX_SCAN_UNROLL", value)
    with pytest.raises(ValueError, match="AERANN_JAX_SCAN_UNROLL must be a positive integer"):
        jax_scan.unroll()
    monkeypatch.delenv("AERANN_JAX_SCAN_UNROLL")
    assert jax_scan.unroll() == jax_scan.DEFAULT_UNROLL


@pytest.mark.parametrize("T", [5, 1])
def test_sit_sot_forward_and_gradient_for_any_length(T):
    c, j = both("elman", build_elman)
    r = rng()
    values = [r.normal(size=(T, 3)), r.normal(size=3), r.normal(size=(3, 3))]
    assert_agree(c(*values), j(*values))
    assert has_mit_mot(j), "the gradient should run a backward scan with mit_mot"


@pytest.mark.slow
def test_sequence_taps_and_mit_sot():
    c, j = both("taps", build_taps)
    r = rng()
    values = [r.normal(size=(7, 2)), r.normal(size=(3, 2)), 0.7]
    assert_agree(c(*values), j(*values))
    mit_mot_taps = [info.mit_mot_in_slices for info in scan_infos(j) if info.n_mit_mot]
    assert any(len(taps[0]) > 2 for taps in mit_mot_taps), "the mit_sot gradient has several mit_mot taps"


def test_nit_sot_with_sit_sot():
    c, j = both("nit_sot", build_nit_sot)
    r = rng()
    values = [r.normal(size=(6, 3)), r.normal(size=(3, 4)), r.normal(size=4)]
    assert_agree(c(*values), j(*values))
    assert any(info.n_nit_sot for info in scan_infos(j))


def test_shared_variable_updated_by_scan():
    """Aesara turns a tensor shared variable updated by scan into a sit_sot."""
    total = aesara.shared(np.float64(0.0), name="total")
    c, j = both("shared", lambda: build_shared_update(total))
    assert [(info.n_sit_sot, info.n_nit_sot) for info in scan_infos(j)] == [(1, 1)]
    x = np.array([1.0, 2.5, -0.5])
    results = []
    for function in (c, j):
        total.set_value(np.float64(10.0))
        outputs = function(x)
        results.append([np.asarray(outputs[0]), total.get_value()])
    assert_agree(*results)
    assert results[1][1] == pytest.approx(13.0)


def constant(value):
    return at.as_tensor_variable(np.int64(value))


def build_untraced_shared():
    """A hand-built Scan with a shared (untraced) output: only the last value is returned.

    ``aesara.scan`` only makes these for non-tensor shared variables (random
    generators), so the op is built directly.
    """
    x, s0, w = at.dvector("x"), at.dscalar("s0"), at.dscalar("w")
    x_t, s, w_in = at.dscalar("x_t"), at.dscalar("s"), at.dscalar("w_in")
    info = ScanInfo(
        n_seqs=1, mit_mot_in_slices=(), mit_mot_out_slices=(), mit_sot_in_slices=(), sit_sot_in_slices=(),
        n_nit_sot=1, n_shared_outs=1, n_non_seqs=1, as_while=False,
    )
    op = Scan([x_t, s, w_in], [2 * x_t + s * w_in, s + x_t], info)
    return [x, s0, w], op(x.shape[0], x, s0, x.shape[0], w)


def test_untraced_shared_output():
    c, j = both("untraced", build_untraced_shared)
    values = [np.array([1.0, 2.0, 3.0]), 10.0, 0.5]
    assert_agree(c(*values), j(*values))
    assert float(j(*values)[1]) == 16.0


def build_buffer_layouts():
    """Buffers shorter and longer than the values they could hold.

    mit_sot (taps -2, -1) with a 2-long buffer keeps the last two values (in
    time order); a 6-long sit_sot buffer and a 5-long nit_sot hold 4 and 3
    values followed by zeros, exactly as ``Scan.perform`` leaves them.
    """
    x, m0, b0 = at.dvector("x"), at.dvector("m0"), at.dmatrix("b0")
    x_t, m2, m1, b = at.dscalar("x_t"), at.dscalar("m2"), at.dscalar("m1"), at.dvector("b")
    info = ScanInfo(
        n_seqs=1, mit_mot_in_slices=(), mit_mot_out_slices=(), mit_sot_in_slices=((-2, -1),),
        sit_sot_in_slices=((-1,),), n_nit_sot=1, n_shared_outs=0, n_non_seqs=0, as_while=False,
    )
    op = Scan([x_t, m2, m1, b], [m1 + 0.5 * m2 + x_t, b * x_t + m1, at.stack([x_t, m2])], info)
    return [x, m0, b0], op(constant(3), x, m0, b0, constant(5))


def test_buffer_layouts_match_scan_perform():
    c, j = both("layouts", build_buffer_layouts)
    values = [np.arange(1.0, 6.0), np.array([0.1, 0.2]), np.arange(12.0).reshape(6, 2)]
    assert_agree(c(*values), j(*values))
    mit_sot, sit_sot, nit_sot = (np.asarray(v) for v in j(*values))
    np.testing.assert_allclose(mit_sot, [3.35, 6.975])
    assert not sit_sot[4:].any() and sit_sot[3].any()
    assert not nit_sot[3:].any()


def build_mit_mot(buffer_length):
    """A hand-built mit_mot (input taps 0 and 1, output tap 1) over 3 steps in a buffer of ``buffer_length``.

    Step i sets entry i + 1 to entry i times x_i plus entry i + 1, as the
    backward scans of gradients do; 4 entries hold it, more are left alone.
    """
    x, m = at.dvector("x"), at.dvector("m")
    x_t, m0, m1 = at.dscalar("x_t"), at.dscalar("m0"), at.dscalar("m1")
    info = ScanInfo(
        n_seqs=1, mit_mot_in_slices=((0, 1),), mit_mot_out_slices=((1,),), mit_sot_in_slices=(),
        sit_sot_in_slices=(), n_nit_sot=0, n_shared_outs=0, n_non_seqs=0, as_while=False,
    )
    op = Scan([x_t, m0, m1], [m0 * x_t + m1], info)
    return [x, m], [op(constant(3), x, m)]


@pytest.mark.parametrize("buffer_length", [4, 6])
def test_mit_mot_buffer_matches_scan_perform(buffer_length):
    c, j = both(f"mit_mot {buffer_length}", lambda: build_mit_mot(buffer_length))
    values = [np.array([2.0, 3.0, 4.0]), np.arange(1.0, buffer_length + 1)]
    assert_agree(c(*values), j(*values))
    expected = [1.0, 4.0, 15.0, 64.0] + [5.0, 6.0][: buffer_length - 4]
    np.testing.assert_allclose(np.asarray(j(*values)[0]), expected)


def test_a_mit_mot_buffer_too_short_for_its_steps_is_refused_clearly():
    inputs, outputs = build_mit_mot(3)
    with backend("jax"):
        function = compiler.function(inputs, outputs)
    with pytest.raises(NotImplementedError, match="does not hold 3 steps"):
        function(np.array([2.0, 3.0, 4.0]), np.arange(1.0, 4.0))


def test_constant_n_steps_without_sequences():
    c, j = both("n_steps", build_n_steps)
    r = rng()
    values = [r.normal(size=3), r.normal(size=(3, 3))]
    assert_agree(c(*values), j(*values))
    assert np.asarray(j(*values)[0]).shape == (4, 3)


def test_symbolic_n_steps_is_a_clear_error():
    n, h0 = at.iscalar("n"), at.dvector("h0")
    hs, _ = aesara.scan(lambda h: 2 * h, outputs_info=[h0], n_steps=n)
    with backend("jax"):
        function = compiler.function([n, h0], hs)
    with pytest.raises(NotImplementedError, match="depends on the values"):
        function(3, np.ones(2))


def test_as_while_is_refused_clearly():
    from aesara.scan.utils import until

    h0 = at.dscalar("h0")
    hs, _ = aesara.scan(lambda h: (2 * h, until(h > 10)), outputs_info=[h0], n_steps=10)
    with backend("jax"), pytest.raises(NotImplementedError, match="stopping condition"):
        compiler.function([h0], hs)


@pytest.fixture(scope="module")
def tutorial_params():
    r = rng()
    vocabulary, hidden = 20, 5
    values = [r.uniform(-0.4, 0.4, shape) for shape in ((hidden, vocabulary), (vocabulary, hidden), (hidden, hidden))]
    return [aesara.shared(v, name=name) for v, name in zip(values, "UVW")], values


def run_sgd(function, params, initial, *args):
    """Outputs of one SGD call from ``initial`` and the parameters after it."""
    for p, v in zip(params, initial):
        p.set_value(v.copy())
    outputs = [np.asarray(o) for o in function(*args)]
    return outputs + [p.get_value() for p in params]


@pytest.mark.slow
@pytest.mark.parametrize("truncate_gradient", [-1, 3])
def test_tutorial_rnn_sgd_step(tutorial_params, truncate_gradient):
    params, initial = tutorial_params
    c, j = both(("tutorial", truncate_gradient), lambda: build_tutorial(params, truncate_gradient))
    forward = [info for info in scan_infos(j) if not info.n_mit_mot]
    assert [(i.n_seqs, i.n_sit_sot) for i in forward] == [(1, 1)]
    assert has_mit_mot(j)
    for x in ([0, 3, 5, 7, 2, 9, 1, 4], [6, 19]):
        x = np.array(x, dtype="int32")
        y = np.roll(x, -1)
        c_result = run_sgd(c, params, initial, x, y, 0.05)
        assert_agree(c_result, run_sgd(j, params, initial, x, y, 0.05))


def test_static_shapes_fold_the_number_of_steps(tutorial_params):
    """With inputs of static length Aesara itself folds every n_steps to a constant.

    Only the JAX function is compiled for the static graph; the C reference
    is the symbolic-length graph of the test above.
    """
    params, initial = tutorial_params
    c, _ = both(("tutorial", 3), lambda: build_tutorial(params, 3))
    if "static" not in _compiled:
        inputs, outputs, updates = build_tutorial(params, 3, length=8)
        with backend("jax"):
            _compiled["static"] = compiler.function(inputs, outputs, updates=updates)
    j = _compiled["static"]
    n_steps = [node.inputs[0] for node in j.maker.fgraph.apply_nodes if isinstance(node.op, Scan)]
    assert sorted(int(n.data) for n in n_steps if isinstance(n, at.TensorConstant)) == [3, 8]
    x = np.array([0, 3, 5, 7, 2, 9, 1, 4], dtype="int32")
    args = (x, np.roll(x, -1), 0.05)
    assert_agree(run_sgd(c, params, initial, *args), run_sgd(j, params, initial, *args))


@pytest.fixture(scope="module")
def stack_params():
    r = rng()
    vocabulary, embed, hidden1, hidden2 = 7, 3, 4, 2
    shapes = [
        (vocabulary, embed),
        (embed, 3 * hidden1),
        (hidden1, 3 * hidden1),
        (hidden1, 4 * hidden2),
        (hidden2, 4 * hidden2),
        (hidden2, vocabulary),
    ]
    values = [r.uniform(-0.5, 0.5, shape) for shape in shapes]
    return [aesara.shared(v, name=f"p{k}") for k, v in enumerate(values)], values


def batch_data(T, B, seed=0):
    r = np.random.default_rng(seed)
    X = r.integers(0, 7, size=(T, B)).astype("int32")
    Y = r.integers(0, 7, size=(T, B)).astype("int32")
    lengths = r.integers(1, T + 1, size=B)
    lengths[0] = T
    mask = (np.arange(T)[:, None] < lengths[None, :]).astype("float64")
    return X, Y, mask


@pytest.mark.slow
def test_masked_gru_lstm_stack_sgd_step(stack_params):
    params, initial = stack_params
    c, j = both("stack", lambda: build_stack(params))
    forward = [info.n_sit_sot for info in scan_infos(j) if not info.n_mit_mot]
    assert sorted(forward) == [1, 2], "one GRU scan (1 state), one LSTM scan (2 states)"
    X, Y, mask = batch_data(5, 3)
    assert_agree(run_sgd(c, params, initial, X, Y, mask), run_sgd(j, params, initial, X, Y, mask))


def build_rnn_ops():
    """The non-scan ops of the RNN graphs: gathers, softmax, log, argmax, dot, activations, clip."""
    E, U, H = at.dmatrix("E"), at.dmatrix("U"), at.dmatrix("H")
    ids, y = at.ivector("ids"), at.ivector("y")
    z = at.dot(E[ids], H) + U[:, ids].T
    p = softmax(z, axis=-1)
    loss = (
        -at.log(p[at.arange(y.shape[0]), y]).sum()
        + at.sigmoid(z).sum()
        + at.tanh(z).sum()
        + at.maximum(z, 0).sum()
        + at.clip(z, -0.5, 0.5).sum()
    )
    return [E, U, H, ids, y], [loss, at.argmax(p, axis=-1)] + aesara.grad(loss, [E, U, H])


def test_rnn_ops_and_their_gradients():
    c, j = both("ops", build_rnn_ops)
    r = rng()
    values = [r.normal(size=(6, 4)), r.normal(size=(6, 6)), r.normal(size=(4, 6))]
    values += [np.array([1, 3, 3, 0], "int32"), np.array([0, 5, 2, 1], "int32")]
    assert_agree(c(*values), j(*values))


def build_shape_arithmetic():
    """Sizes computed from input shapes: reshape, arange, slices, alloc, broadcast."""
    x = at.dmatrix("x")
    n, m = x.shape
    outputs = [
        x.reshape((n * m // 2, 2)),
        at.arange(n - 1),
        x[: n // 2, 1:],
        at.zeros((at.max(x.shape), 2)) + 1,
        x.reshape((m, n, 1)),
        x.flatten()[at.arange(m) * 2].sum(),
        at.ones(at.stack([n, m])[::-1]) * x.T,
    ]
    return [x], outputs


@pytest.mark.parametrize("shape", [(4, 3), (6, 2)])
def test_shape_arithmetic_is_folded_while_tracing(shape):
    c, j = both("shapes", build_shape_arithmetic)
    x = np.arange(12.0).reshape(shape)
    assert_agree(c(x), j(x))


def test_shape_mismatch_still_raises():
    """Assertions on shapes are checked while JAX traces (Aesara would drop them)."""
    a, b = at.dvector("a"), at.dvector("b")
    with backend("jax"):
        function = compiler.function([a, b], a + b)
    with pytest.raises(Exception):
        function(np.ones(2), np.ones(3))


def test_the_deprecated_nnet_rewrites_do_not_reach_jax():
    # Aesara's compile cache imports aesara.tensor.nnet when it unpickles a key that names one of its
    # Ops, which registers rewrites into nnet Ops that JAX cannot run; the JAX mode leaves them out.
    # In a fresh process: importing that module here would change every later test's rewrites.
    script = textwrap.dedent("""
        import warnings

        import aerann
        import aesara
        import aesara.tensor as at
        import numpy as np
        from aesara.tensor.special import softmax

        from aerann.backend import compiler

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import aesara.tensor.nnet  # noqa: F401
        z, y = at.dmatrix("z"), at.ivector("y")
        loss = -at.log(softmax(z, axis=-1)[at.arange(y.shape[0]), y]).sum()
        with compiler.backend("jax"):
            f = compiler.function([z, y], [loss, aesara.grad(loss, z)])
        values = np.random.default_rng(0).normal(size=(3, 4)), np.array([0, 3, 1], "int32")
        p = np.exp(values[0]) / np.exp(values[0]).sum(1, keepdims=True)
        np.testing.assert_allclose(np.asarray(f(*values)[0]), -np.log(p[np.arange(3), values[1]]).sum(), rtol=1e-12)
        print("computed on JAX")
    """)
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True,
                            env=dict(os.environ, AERANN_FUNCTION_CACHE="0"))
    assert result.returncode == 0 and "computed on JAX" in result.stdout, result.stdout + result.stderr
