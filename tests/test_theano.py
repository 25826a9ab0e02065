"""aerann.theano: code written against Theano 1.0 runs on aerann, with Theano's semantics.

The models here are written for these tests in the style of the classic
tutorials (the WildML RNN language model, an LSTM tagger with MRG dropout
like deeplearning.net's), through the shim's Theano names only; they are
checked against aerann's own RNNTheano, against the C backend on JAX, and by
training.  Each graph compiles once per backend (the ``functools.cache``
functions below); the commands run one subprocess each.
"""

import functools
import re
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pytest

import aerann
import aerann.theano as theano
import aerann.theano.tensor as T
from aerann import cli
from aerann.backend import compiler
from aerann.theano import runner
from aerann.theano.compile import UnusedInputError
from aerann.theano.sandbox.rng_mrg import MRG_RandomStreams
from aerann.theano.tensor.shared_randomstreams import RandomStreams

ROOT = Path(__file__).resolve().parents[1]
BACKENDS = ["c", "jax"]
WORDS, HIDDEN, TRUNCATE = 7, 5, 3
X = np.array([0, 3, 2, 6, 1, 4], dtype="int32")  # longer than TRUNCATE: the truncation matters
Y = np.array([3, 2, 6, 1, 4, 5], dtype="int32")
LEARNING_RATE = 0.1


def on(backend):
    """The ``with`` block that compiles for ``backend`` (skips the test when JAX is not installed)."""
    if backend == "jax":
        pytest.importorskip("jax")
    return compiler.backend(backend)


def rnn_language_model(U0, V0, W0, bptt_truncate):
    """The WildML tutorial's RNNTheano graph, written in Theano: (forward, bptt, sgd_step, [U, V, W])."""
    U = theano.shared(name="U", value=U0.astype(theano.config.floatX))
    V = theano.shared(name="V", value=V0.astype(theano.config.floatX))
    W = theano.shared(name="W", value=W0.astype(theano.config.floatX))
    x, y = T.ivector("x"), T.ivector("y")

    def forward_prop_step(x_t, s_t_prev, U, V, W):
        s_t = T.tanh(U[:, x_t] + W.dot(s_t_prev))
        o_t = T.nnet.softmax(V.dot(s_t))
        return [o_t[0], s_t]

    [o, s], updates = theano.scan(
        forward_prop_step,
        sequences=x,
        outputs_info=[None, dict(initial=T.zeros(U0.shape[0]))],
        non_sequences=[U, V, W],
        truncate_gradient=bptt_truncate,
        strict=True,
    )
    o_error = T.sum(T.nnet.categorical_crossentropy(o, y))
    dU, dV, dW = T.grad(o_error, U), T.grad(o_error, V), T.grad(o_error, W)
    learning_rate = T.scalar("learning_rate")
    forward = theano.function([x], o)
    bptt = theano.function([x, y], [dU, dV, dW])
    sgd_step = theano.function(
        [x, y, learning_rate], [], updates=[(U, U - learning_rate * dU), (V, V - learning_rate * dV),
                                            (W, W - learning_rate * dW)]
    )
    return forward, bptt, sgd_step, [U, V, W]


@functools.cache
def rnn_results(backend):
    """Forward probabilities, gradients and weights after one SGD step of the Theano-style model and of
    aerann.RNNTheano with the same weights, compiled for ``backend``."""
    rng = np.random.RandomState(0)
    U0, V0, W0 = (rng.uniform(-1, 1, shape) for shape in ((HIDDEN, WORDS), (WORDS, HIDDEN), (HIDDEN, HIDDEN)))
    with theano.change_flags(floatX="float64"), compiler.backend(backend):
        forward, bptt, sgd_step, shared = rnn_language_model(U0, V0, W0, TRUNCATE)
        model = aerann.RNNTheano(WORDS, HIDDEN, bptt_truncate=TRUNCATE)
        for variable, value in zip((model.U, model.V, model.W), (np.asfortranarray(U0), V0, W0)):
            variable.set_value(value)
        results = {
            "shim": {"o": forward(X), "gradients": bptt(X, Y)},
            "RNNTheano": {"o": np.asarray(model.forward_propagation(X)), "gradients": model.bptt(X, Y)},
        }
        sgd_step(X, Y, LEARNING_RATE)
        model.sgd_step(X, Y, LEARNING_RATE)
        results["shim"]["stepped"] = [p.get_value() for p in shared]
        results["RNNTheano"]["stepped"] = [p.get_value() for p in (model.U, model.V, model.W)]
    return results


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_tutorial_rnn_in_theano_matches_rnntheano(backend):
    with on(backend):
        results = rnn_results(backend)
    shim, reference = results["shim"], results["RNNTheano"]
    assert isinstance(shim["o"], np.ndarray) and shim["o"].shape == (len(X), WORDS)
    np.testing.assert_allclose(shim["o"].sum(axis=1), 1.0, atol=1e-12)
    np.testing.assert_allclose(shim["o"], reference["o"], rtol=0, atol=1e-10)
    for mine, theirs in zip(shim["gradients"], reference["gradients"]):
        assert np.abs(mine).max() > 1e-3  # a gradient that is there
        np.testing.assert_allclose(mine, np.asarray(theirs), rtol=0, atol=1e-10)
    for mine, theirs in zip(shim["stepped"], reference["stepped"]):
        np.testing.assert_allclose(mine, theirs, rtol=0, atol=1e-10)


def test_the_tutorial_rnn_on_jax_gives_the_c_backends_numbers():
    with on("jax"):
        on_jax = rnn_results("jax")["shim"]
    on_c = rnn_results("c")["shim"]
    pairs = [(on_jax["o"], on_c["o"]), *zip(on_jax["gradients"], on_c["gradients"]),
             *zip(on_jax["stepped"], on_c["stepped"])]
    assert len(pairs) == 7
    for jax_value, c_value in pairs:
        np.testing.assert_allclose(jax_value, c_value, rtol=0, atol=1e-10)


# -- a GRU language model with the GRU tutorial's RMSprop ------------------------------------------
GRU_WORDS, GRU_HIDDEN, GRU_STEPS = 5, 8, 15


def gru_language_model():
    """A one-layer GRUTheano of the WildML GRU tutorial, with its RMSprop step (caches updated with
    ``dW ** 2``, the decay an ``In`` with a default): (ce_error, sgd_step)."""
    rng = np.random.RandomState(2)
    word_scale, hidden_scale = np.sqrt(1.0 / GRU_WORDS), np.sqrt(1.0 / GRU_HIDDEN)
    values = {
        "E": rng.uniform(-word_scale, word_scale, (GRU_HIDDEN, GRU_WORDS)),
        "U": rng.uniform(-hidden_scale, hidden_scale, (3, GRU_HIDDEN, GRU_HIDDEN)),
        "W": rng.uniform(-hidden_scale, hidden_scale, (3, GRU_HIDDEN, GRU_HIDDEN)),
        "V": rng.uniform(-hidden_scale, hidden_scale, (GRU_WORDS, GRU_HIDDEN)),
        "b": np.zeros((3, GRU_HIDDEN)),
        "c": np.zeros(GRU_WORDS),
    }
    params = [theano.shared(name=name, value=value.astype(theano.config.floatX)) for name, value in values.items()]
    caches = [theano.shared(name="m" + p.name, value=np.zeros(p.get_value().shape).astype(theano.config.floatX))
              for p in params]
    E, U, W, V, b, c = params
    x, y = T.ivector("x"), T.ivector("y")

    def forward_prop_step(x_t, s_t_prev):
        x_e = E[:, x_t]
        z_t = T.nnet.hard_sigmoid(U[0].dot(x_e) + W[0].dot(s_t_prev) + b[0])
        r_t = T.nnet.hard_sigmoid(U[1].dot(x_e) + W[1].dot(s_t_prev) + b[1])
        c_t = T.tanh(U[2].dot(x_e) + W[2].dot(s_t_prev * r_t) + b[2])
        s_t = (T.ones_like(z_t) - z_t) * c_t + z_t * s_t_prev
        return [T.nnet.softmax(V.dot(s_t) + c)[0], s_t]

    [o, s], _ = theano.scan(forward_prop_step, sequences=x,
                            outputs_info=[None, dict(initial=T.zeros(GRU_HIDDEN))])
    cost = T.sum(T.nnet.categorical_crossentropy(o, y))
    grads = [T.grad(cost, p) for p in params]
    learning_rate, decay = T.scalar("learning_rate"), T.scalar("decay")
    new_caches = [decay * m + (1 - decay) * g ** 2 for m, g in zip(caches, grads)]
    sgd_step = theano.function(
        [x, y, learning_rate, theano.In(decay, value=0.9)], [],
        updates=[(p, p - learning_rate * g / T.sqrt(m + 1e-6)) for p, g, m in zip(params, grads, new_caches)]
        + list(zip(caches, new_caches)),
    )
    return theano.function([x, y], cost), sgd_step


@functools.cache
def gru_losses(backend):
    sentence, following = X[:4] % GRU_WORDS, Y[:4] % GRU_WORDS
    with theano.change_flags(floatX="float64"), compiler.backend(backend):
        ce_error, sgd_step = gru_language_model()
        losses = [float(ce_error(sentence, following))]
        for _ in range(GRU_STEPS):
            sgd_step(sentence, following, 0.05)  # decay: the In's default, 0.9
            losses.append(float(ce_error(sentence, following)))
    return losses


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_gru_tutorials_rmsprop_compiles_and_trains(backend):
    """``dW ** 2`` of a scan's gradient, which stops Aesara 2.9.4's own compilation (see constant_powers)."""
    with on(backend):
        losses = gru_losses(backend)
    assert np.isfinite(losses).all() and losses[-1] < 0.5 * losses[0]


def test_the_gru_on_jax_gives_the_c_backends_numbers():
    with on("jax"):
        on_jax = gru_losses("jax")
    np.testing.assert_allclose(on_jax, gru_losses("c"), rtol=0, atol=1e-10)


def test_powers_by_constants_are_specialized_as_aesaras_rewrites_would():
    from aesara.scalar.basic import Mul, Pow, Reciprocal, Sqr, Sqrt

    from aerann.theano.compile import constant_powers

    x = T.dmatrix("x")
    powers = [x ** 2, x ** 3, x ** 0.5, x ** -1, x ** 0.3]
    specialized = constant_powers.specialize(powers)
    assert [type(v.owner.op.scalar_op) for v in specialized] == [Sqr, Mul, Sqrt, Reciprocal, Pow]
    assert specialized[-1] is powers[-1]  # Aesara leaves x ** 0.3 a power: so does this
    plain = x + 1
    assert constant_powers.specialize([plain, x]) == [plain, x]  # nothing to specialize: the same graph
    inner = (x ** 2).sum()
    (rebuilt,) = constant_powers.specialize([inner])
    assert rebuilt is not inner and isinstance(rebuilt.owner.inputs[0].owner.op.scalar_op, Sqr)


# -- a GRU in the style of the Lazy Programmer's rnn_class scripts -----------------------------------
def rnn_class_gru(inputs, hidden, classes):
    """A GRU sequence labeller as the book's scripts write one: float32 inputs against float64 weights,
    ``T.nnet.nnet.sigmoid`` gates, a softmax row per step (``y[:, 0, :]``), momentum updates: train_op."""
    rng = np.random.RandomState(3)

    def init_weight(m, n):
        return rng.randn(m, n) / np.sqrt(m + n)

    shapes = {"Wxr": (inputs, hidden), "Whr": (hidden, hidden), "Wxz": (inputs, hidden),
              "Whz": (hidden, hidden), "Wxh": (inputs, hidden), "Whh": (hidden, hidden), "Wo": (hidden, classes)}
    weights = {name: theano.shared(init_weight(*shape)) for name, shape in shapes.items()}
    br, bz, bh, bo = (theano.shared(np.zeros(n)) for n in (hidden, hidden, hidden, classes))
    h0 = theano.shared(np.zeros(hidden))
    params = [*weights.values(), br, bz, bh, h0, bo]
    thX, thY = T.fmatrix("X"), T.ivector("Y")
    w = weights

    def recurrence(x_t, h_t1):
        r_t = T.nnet.nnet.sigmoid(x_t.dot(w["Wxr"]) + h_t1.dot(w["Whr"]) + br)
        z_t = T.nnet.nnet.sigmoid(x_t.dot(w["Wxz"]) + h_t1.dot(w["Whz"]) + bz)
        hhat_t = T.tanh(x_t.dot(w["Wxh"]) + (r_t * h_t1).dot(w["Whh"]) + bh)
        h_t = (1 - z_t) * h_t1 + z_t * hhat_t
        y_t = T.nnet.softmax(h_t.dot(w["Wo"]) + bo)
        return h_t, y_t

    [h, y], _ = theano.scan(fn=recurrence, outputs_info=[h0, None], sequences=thX, n_steps=thX.shape[0])
    py_x = y[:, 0, :]  # each step's softmax is a (1, K) row, as in Theano
    prediction = T.argmax(py_x, axis=1)
    cost = -T.mean(T.log(py_x[T.arange(thY.shape[0]), thY]))
    grads = T.grad(cost, params)
    dparams = [theano.shared(p.get_value() * 0) for p in params]
    learning_rate, mu = 0.5, 0.9
    updates = [(p, p + mu * dp - learning_rate * g) for p, dp, g in zip(params, dparams, grads)] + [
        (dp, mu * dp - learning_rate * g) for dp, g in zip(dparams, grads)]
    return theano.function(inputs=[thX, thY], outputs=[cost, prediction, y], updates=updates)


@functools.cache
def rnn_class_run(backend):
    bits = np.array([[1], [0], [1], [1], [0], [0]], dtype=np.float32)  # one sequence, one feature per step
    parity = (np.cumsum(bits[:, 0]) % 2).astype(np.int32)
    with theano.change_flags(floatX="float64"), compiler.backend(backend):
        train_op = rnn_class_gru(1, 6, 2)
        return [train_op(bits, parity) for _ in range(50)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_rnn_class_gru_reads_the_softmax_rows_and_trains(backend):
    with on(backend):
        steps = rnn_class_run(backend)
    cost, prediction, y = steps[-1]
    assert y.shape == (6, 1, 2) and prediction.shape == (6,)
    assert steps[-1][0] < 0.2 * steps[0][0] and (prediction == np.cumsum([1, 0, 1, 1, 0, 0]) % 2).all()


def test_the_rnn_class_gru_on_jax_gives_the_c_backends_numbers():
    with on("jax"):
        on_jax = rnn_class_run("jax")
    for (jax_cost, jax_prediction, jax_y), (c_cost, c_prediction, c_y) in zip(on_jax, rnn_class_run("c")):
        np.testing.assert_allclose(jax_cost, c_cost, rtol=0, atol=1e-10)
        np.testing.assert_allclose(jax_y, c_y, rtol=0, atol=1e-10)
        np.testing.assert_array_equal(jax_prediction, c_prediction)


# -- an LSTM tagger with MRG dropout -----------------------------------------------------------
VOCABULARY, EMBEDDING, LSTM_HIDDEN, TAGS, SEED, KEEP = 6, 6, 8, 3, 7, 0.8
TOKENS = np.random.RandomState(0).randint(0, VOCABULARY, size=(5, 8)).astype("int64")  # (steps, sentences)
TAGGED = TOKENS % TAGS
STEPS, TAGGER_RATE = 30, 2.0


def lstm_tagger(seed):
    """An embedding, an LSTM (one scan over the time-major batch) and a softmax per step, with MRG dropout
    on the embedding in training: (train, dropout mask function)."""
    rng = np.random.RandomState(1)
    values = {
        "Wemb": 0.3 * rng.randn(VOCABULARY, EMBEDDING),
        "W": 0.3 * rng.randn(EMBEDDING, 4 * LSTM_HIDDEN),
        "U": 0.3 * rng.randn(LSTM_HIDDEN, 4 * LSTM_HIDDEN),
        "b": np.zeros(4 * LSTM_HIDDEN),
        "Wout": 0.3 * rng.randn(LSTM_HIDDEN, TAGS),
        "bout": np.zeros(TAGS),
    }
    tparams = {name: theano.shared(np.asarray(value, dtype=theano.config.floatX), name=name)
               for name, value in values.items()}
    trng = MRG_RandomStreams(seed)
    use_noise = theano.shared(np.asarray(1.0, dtype=theano.config.floatX))
    x, y = T.matrix("x", dtype="int64"), T.matrix("y", dtype="int64")
    n_steps, n_samples = x.shape[0], x.shape[1]
    emb = tparams["Wemb"][x.flatten()].reshape([n_steps, n_samples, EMBEDDING])
    mask = trng.binomial(emb.shape, p=KEEP, n=1, dtype=emb.dtype)
    emb = T.switch(use_noise, emb * mask / KEEP, emb)

    def _slice(_x, n):
        return _x[:, n * LSTM_HIDDEN:(n + 1) * LSTM_HIDDEN]

    def _step(x_, h_, c_):
        preact = T.dot(h_, tparams["U"]) + x_
        i, f, o = (T.nnet.sigmoid(_slice(preact, k)) for k in range(3))
        c = f * c_ + i * T.tanh(_slice(preact, 3))
        return o * T.tanh(c), c

    state_below = T.dot(emb, tparams["W"]) + tparams["b"]
    zeros = T.alloc(np.asarray(0.0, dtype=theano.config.floatX), n_samples, LSTM_HIDDEN)
    (h, c), _ = theano.scan(_step, sequences=[state_below], outputs_info=[zeros, zeros], n_steps=n_steps)
    pred = T.nnet.softmax(T.dot(h.reshape([n_steps * n_samples, LSTM_HIDDEN]), tparams["Wout"]) + tparams["bout"])
    cost = T.nnet.categorical_crossentropy(pred, y.flatten()).mean()
    grads = T.grad(cost, wrt=list(tparams.values()))
    lr = T.scalar(name="lr")
    train = theano.function([x, y, lr], cost, updates=[(p, p - lr * g) for p, g in zip(tparams.values(), grads)])
    return train, theano.function([x], mask)


def seeded_masks(seed, calls=2):
    """The first ``calls`` masks of a fresh MRG_RandomStreams(seed)'s binomial draw."""
    draw = MRG_RandomStreams(seed).binomial(size=(4, 6), p=KEEP, dtype=theano.config.floatX)
    function = theano.function([], draw)
    return [function() for _ in range(calls)]


@functools.cache
def lstm_results(backend):
    with theano.change_flags(floatX="float64"), compiler.backend(backend):
        train, dropout_mask = lstm_tagger(SEED)
        losses = [float(train(TOKENS, TAGGED, TAGGER_RATE)) for _ in range(STEPS)]
        masks = [dropout_mask(TOKENS) for _ in range(2)]
        same_seed = [seeded_masks(11), seeded_masks(11)]
    return {"losses": losses, "masks": masks, "same_seed": same_seed}


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_lstm_tagger_with_mrg_dropout_trains(backend):
    with on(backend):
        losses = lstm_results(backend)["losses"]
    assert np.isfinite(losses).all()
    assert losses[0] > 0.9 * np.log(TAGS)  # it starts near chance
    assert losses[-1] < 0.3 * losses[0]


@pytest.mark.parametrize("backend", BACKENDS)
def test_mrg_dropout_masks_change_every_call_and_repeat_with_the_seed(backend):
    with on(backend):
        results = lstm_results(backend)
    first, second = results["masks"]
    assert first.shape == (*TOKENS.shape, EMBEDDING) and isinstance(first, np.ndarray)
    assert set(np.unique(first)) <= {0.0, 1.0} and 0.6 < first.mean() < 0.95  # p = KEEP of ones
    assert (first != second).any()  # the function moved the streams on
    one, other = results["same_seed"]
    assert (one[0] != one[1]).any()
    for a, b in zip(one, other):
        np.testing.assert_array_equal(a, b)


def test_the_lstm_tagger_on_jax_gives_the_c_backends_numbers():
    with on("jax"):
        on_jax = lstm_results("jax")
    on_c = lstm_results("c")
    np.testing.assert_allclose(on_jax["losses"], on_c["losses"], rtol=0, atol=1e-10)
    for jax_masks, c_masks in ((on_jax["masks"], on_c["masks"]), (on_jax["same_seed"][0], on_c["same_seed"][0])):
        for jax_mask, c_mask in zip(jax_masks, c_masks):
            np.testing.assert_array_equal(jax_mask, c_mask)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_mrg_uniform_draws_and_states_on_jax_are_the_c_backends(dtype):
    """More numbers than streams (each stream steps several times, some once less) and a second call."""
    pytest.importorskip("jax")

    def draws(backend):
        with compiler.backend(backend):
            streams = MRG_RandomStreams(123)
            draw = streams.uniform((7, 5), dtype=dtype, nstreams=4)
            function = theano.function([], draw)
            values = [function(), function()]
            return values, [state.get_value() for state, *_ in streams.state_updates]

    (c_values, c_states), (jax_values, jax_states) = draws("c"), draws("jax")
    assert c_values[0].dtype == dtype and (c_values[0] != c_values[1]).any()
    for mine, theirs in zip(jax_values + jax_states, c_values + c_states):
        np.testing.assert_array_equal(mine, theirs)


# -- Theano's semantics where Aesara's differ --------------------------------------------------
def test_softmax_of_a_vector_is_a_row_and_crossentropy_checks_ranks_like_theano():
    assert T.nnet.softmax(T.dvector()).type.shape == (1, None)
    assert T.nnet.softmax(T.dmatrix()).type.ndim == 2
    with pytest.raises(ValueError, match="1-d or 2-d tensor of floats"):
        T.nnet.softmax(T.dtensor3())
    with pytest.raises(ValueError, match="1-d or 2-d tensor of floats"):
        T.nnet.softmax(T.ivector())
    assert T.nnet.categorical_crossentropy(T.dmatrix(), T.ivector()).type.ndim == 1
    with pytest.raises(TypeError, match="integer vector"):
        T.nnet.categorical_crossentropy(T.dmatrix(), T.dvector())
    with pytest.raises(TypeError, match="rank mismatch"):
        T.nnet.categorical_crossentropy(T.dmatrix(), T.iscalar())


def test_nnet_functions_compute_theanos_formulas():
    v, m, y = T.dvector("v"), T.dmatrix("m"), T.ivector("y")
    probabilities = T.dmatrix("p")
    outputs = [
        T.nnet.softmax(v),
        T.nnet.relu(v),
        T.nnet.relu(v, alpha=0.1),
        T.nnet.hard_sigmoid(v),
        T.nnet.elu(v),
        T.nnet.softsign(v),
        T.nnet.sigmoid(v),
        T.nnet.softplus(v),
        T.nnet.binary_crossentropy(T.nnet.sigmoid(v), T.ones_like(v) * 0.25),
        T.nnet.categorical_crossentropy(T.nnet.softmax(m), y),
        T.nnet.categorical_crossentropy(probabilities, T.nnet.softmax(m)),
        T.grad(T.sum(T.nnet.relu(v)), v),
    ]
    with theano.change_flags(floatX="float64"), compiler.backend("c"):
        function = theano.function([v, m, y, probabilities], outputs)
    values = np.array([-3.0, -0.5, 0.0, 0.7, 4.0])
    logits = np.array([[800.0, 0.0], [0.0, 1.0]])  # a confident wrong prediction in row 0
    dense = np.array([[0.3, 0.7], [0.6, 0.4]])
    got = function(values, logits, np.array([1, 0], dtype="int32"), dense)
    sigmoid = 1 / (1 + np.exp(-values))
    row = np.exp(values - values.max()) / np.exp(values - values.max()).sum()
    soft = np.exp(logits - logits.max(1, keepdims=True))
    soft /= soft.sum(1, keepdims=True)
    expected = [
        row[None, :],
        np.maximum(values, 0),
        np.where(values > 0, values, 0.1 * values),
        np.clip(0.2 * values + 0.5, 0, 1),
        np.where(values > 0, values, np.expm1(values)),
        values / (1 + np.abs(values)),
        sigmoid,
        np.log1p(np.exp(values)),
        -(0.25 * np.log(sigmoid) + 0.75 * np.log(1 - sigmoid)),
        np.array([800.0, np.log1p(np.e)]),  # finite: log(softmax) becomes a log-softmax
        -np.sum(soft * np.log(dense), axis=1),
        np.array([0.0, 0.0, 0.5, 1.0, 1.0]),  # Theano's relu gradient at 0 is 0.5
    ]
    assert got[0].shape == (1, len(values))
    for value, reference in zip(got, expected):
        np.testing.assert_allclose(value, reference, rtol=1e-12, atol=1e-12)


def test_scan_takes_theanos_arguments():
    steps, digits = T.iscalar("steps"), T.dvector("digits")
    fibonacci, _ = theano.scan(lambda before, last: before + last, n_steps=steps,
                               outputs_info=dict(initial=np.array([0.0, 1.0]), taps=[-2, -1]))
    backwards, _ = theano.scan(lambda digit, number: number * 10 + digit, sequences=digits,
                               outputs_info=np.float64(0.0), go_backwards=True)
    with compiler.backend("c"):
        function = theano.function([steps, digits], [fibonacci, backwards[-1]])
    series, number = function(5, [1.0, 2.0, 3.0])
    np.testing.assert_array_equal(series, [1.0, 2.0, 3.0, 5.0, 8.0])
    assert number == 321.0


def test_random_streams_take_theanos_arguments_and_seeds():
    with theano.change_flags(floatX="float64"), compiler.backend("c"):
        rng = RandomStreams(3)
        x = T.dmatrix("x")
        uniform = rng.uniform((2, 3))  # Theano's size first (Aesara's RandomStream reads it as low)
        binomial = rng.binomial(size=x.shape, p=0.3, n=1, dtype="int8")
        normal = rng.normal((2000,), avg=5.0, std=0.1)
        draw = theano.function([x], [uniform, binomial, normal])
        first, second = draw(np.zeros((40, 50))), draw(np.zeros((40, 50)))
        rng.seed(3)
        restarted = draw(np.zeros((40, 50)))
    seeds = np.random.RandomState(3)  # Theano's scheme: one RandomState per draw, seeded in order
    theano_uniform = np.random.RandomState(seeds.randint(2**30)).uniform(0.0, 1.0, (2, 3))
    np.testing.assert_array_equal(first[0], theano_uniform)
    assert first[1].dtype == np.int8 and first[1].shape == (40, 50) and set(np.unique(first[1])) == {0, 1}
    assert 0.2 < first[1].mean() < 0.4
    assert abs(first[2].mean() - 5.0) < 0.02 and abs(first[2].std() - 0.1) < 0.01
    assert all((a != b).any() for a, b in zip(first, second))  # the states moved on
    for a, b in zip(first, restarted):
        np.testing.assert_array_equal(a, b)


def test_random_streams_are_refused_on_jax_with_the_way_out():
    with on("jax"):
        draw = RandomStreams(1).uniform((2,))
        with pytest.raises(NotImplementedError, match="MRG_RandomStreams"):
            theano.function([], draw)


def test_function_takes_theanos_arguments():
    x, y, unused = T.dvector("x"), T.dvector("y"), T.dscalar("unused")
    with pytest.raises(UnusedInputError, match="index 1 is not part of the computational graph"):
        theano.function([x, unused], x * 2)
    with theano.change_flags(floatX="float64"), compiler.backend("c"):
        total = theano.shared(0.0, name="total")
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            function = theano.function(
                [x, unused], (x * 2, x.sum()), updates=zip([total], [total + y.sum()]), givens={y: x + 1},
                on_unused_input="warn", mode="DebugMode", allow_input_downcast=True, name="f",
            )
        messages = [str(w.message) for w in caught]
        assert any("index 1 is not part" in m for m in messages)
        assert any("mode='DebugMode' is not used" in m for m in messages)
        doubled, summed = function([1, 2], 0)
        with_none = theano.function([x], outputs=None, updates={total: total + x.sum()})
        assert with_none([10.0]) == []
    np.testing.assert_array_equal(doubled, [2.0, 4.0])
    assert summed == 3.0 and total.get_value() == 5.0 + 10.0


def test_shared_takes_theanos_arguments():
    value = np.zeros((1, 3))
    borrowed = theano.shared(value, borrow=True, broadcastable=(True, False), name="b")
    assert borrowed.broadcastable == (True, False) and borrowed.name == "b"
    assert np.shares_memory(borrowed.get_value(borrow=True), value)
    assert not np.shares_memory(theano.shared(value).get_value(borrow=True), value)
    assert theano.shared(0.5).dtype == "float64" and theano.shared(3).dtype == "int64"
    assert isinstance(theano.shared(np.random.RandomState(0)), theano.SharedVariable)


def test_config_reads_and_sets_aesara_settings_under_theanos_names():
    import aesara

    previous = theano.config.floatX
    try:
        theano.config.floatX = "float32"
        assert aesara.config.floatX == "float32" and T.vector().dtype == "float32"
    finally:
        theano.config.floatX = previous
    assert theano.config.warn.round == aesara.config.warn__round
    before = aesara.config.warn__round
    with theano.change_flags({"warn.round": not before}):
        assert theano.config.warn.round == aesara.config.warn__round == (not before)
    assert aesara.config.warn__round == before
    with pytest.raises(AttributeError, match="does not provide theano.config.no_such_setting"):
        theano.config.no_such_setting


def test_a_name_the_shim_lacks_is_named_with_aesaras_equivalent():
    with pytest.raises(AttributeError, match=r"^aerann.theano does not provide theano.tensor.foo \("):
        T.foo
    with pytest.raises(AttributeError, match=re.escape(
            "aerann.theano does not provide theano.tensor.random; Aesara's aesara.tensor.random may do")):
        T.random
    with pytest.raises(AttributeError, match=re.escape("tensor.nnet.conv2d; Aesara's aesara.tensor.nnet.conv2d")):
        T.nnet.conv2d
    with pytest.raises(AttributeError, match=re.escape("theano.sparse; Aesara's aesara.sparse may do")):
        theano.sparse
    with pytest.raises(AttributeError, match="theano.sandbox.rng_mrg.MRG_RandomStreams.no_such_draw"):
        MRG_RandomStreams(1).no_such_draw
    with pytest.raises(AttributeError, match="theano.tensor.shared_randomstreams.RandomStreams.choice"):
        RandomStreams(1).choice
    assert not hasattr(T, "foo")  # still an AttributeError, so hasattr and getattr defaults work


def documented_names():
    """Theano module -> the names docs/theano.md lists as provided."""
    text = (ROOT / "docs" / "theano.md").read_text(encoding="utf-8")
    section = text.split("\n## Supported names\n", 1)[1].split("\n## ", 1)[0]
    listed, current = {}, None
    for line in section.splitlines():
        bullet = re.match(r"- \*\*`(theano[\w.]*)`\*\*:", line)
        if bullet:
            current = listed.setdefault(bullet[1], set())
            line = line[bullet.end():]
        elif not line.startswith("  "):  # a bullet's continuation lines are indented
            current = None
        if current is not None:
            current.update(re.findall(r"`([^`]+)`", line))
    return listed


def test_docs_list_every_name_each_module_provides():
    import importlib

    listed = documented_names()
    first_names = {}  # a module that stands for two Theano names (nnet and nnet.nnet) is listed once
    for theano_name, module_name in runner.THEANO_MODULES.items():
        first_names.setdefault(module_name, theano_name)
    assert set(listed) == set(first_names.values())
    for module_name, theano_name in first_names.items():
        assert listed[theano_name] == set(importlib.import_module(module_name).__all__), theano_name
    text = (ROOT / "docs" / "theano.md").read_text(encoding="utf-8")
    assert all(f"`{name}`" in text for name in runner.THEANO_MODULES)


# -- install() and the runner ------------------------------------------------------------------
@pytest.fixture
def clean_modules():
    """sys.modules without theano entries, and as it was after the test."""
    saved = {name: module for name, module in sys.modules.items() if name == "theano" or name.startswith("theano.")}
    for name in saved:
        del sys.modules[name]
    yield
    for name in [name for name in sys.modules if name == "theano" or name.startswith("theano.")]:
        del sys.modules[name]
    sys.modules.update(saved)


def test_install_makes_import_theano_the_shim_and_twice_is_a_no_op(clean_modules):
    import importlib

    assert theano.install() is True
    assert importlib.import_module("theano") is theano
    assert importlib.import_module("theano.tensor.nnet") is T.nnet
    assert importlib.import_module("theano.tensor.nnet.nnet").sigmoid is T.nnet.nnet.sigmoid is T.nnet.sigmoid
    assert importlib.import_module("theano.sandbox.rng_mrg").MRG_RandomStreams is MRG_RandomStreams
    before = dict(sys.modules)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert theano.install() is True
    assert dict(sys.modules) == before


@pytest.fixture
def fake_theano(tmp_path, monkeypatch):
    """A real-looking Theano package first on sys.path."""
    package = tmp_path / "site" / "theano"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("REAL = True\n")
    monkeypatch.syspath_prepend(str(tmp_path / "site"))
    return package


def test_a_real_theano_is_not_shadowed_unless_forced(clean_modules, fake_theano, tmp_path, capsys):
    assert runner.real_theano() == str(fake_theano / "__init__.py")
    with pytest.warns(RuntimeWarning, match="a Theano other than aerann's is installed"):
        assert theano.install() is False
    assert "theano" not in sys.modules
    script = tmp_path / "which.py"
    script.write_text("import theano\nprint('real' if getattr(theano, 'REAL', False) else 'aerann')\n")
    assert runner.main([str(script)]) == 0
    captured = capsys.readouterr()
    assert captured.out == "real\n" and "--force" in captured.err
    assert runner.main(["--force", str(script)]) == 0
    assert capsys.readouterr().out == "aerann\n"
    assert theano.install(force=True) is True and sys.modules["theano"] is theano


def test_run_script_restores_what_it_changed(tmp_path):
    (tmp_path / "theano_test_helper.py").write_text("ANSWER = 42\n")
    script = tmp_path / "script.py"
    script.write_text(textwrap.dedent("""
        import sys
        import theano
        import theano.tensor as T
        from theano.tensor.nnet import softmax
        import theano_test_helper
        assert __name__ == "__main__" and sys.argv[1:] == ["a", "b"], (__name__, sys.argv)
        assert softmax(T.dvector()).ndim == 2 and theano_test_helper.ANSWER == 42
    """))
    sys.modules.pop("theano_test_helper", None)
    keys, argv, path = set(sys.modules), list(sys.argv), list(sys.path)
    theano.run_script(script, ["a", "b"])
    assert set(sys.modules) - keys == {"theano_test_helper"}  # what the script imported itself
    assert keys - set(sys.modules) == set()
    assert sys.argv == argv and sys.path == path
    with pytest.raises(FileNotFoundError, match="no such script"):
        theano.run_script(tmp_path / "missing.py")


def test_a_missing_script_is_one_line_and_exit_code_1(tmp_path, capsys):
    missing = tmp_path / "missing.py"
    for main, prog in ((runner.main, "python -m aerann.theano"), (lambda a: cli.main(["theano", *a]), "aerann theano")):
        assert main([str(missing), "x"]) == 1
        err = capsys.readouterr().err
        assert err == f"{prog}: error: {missing}: no such script\n"
    assert cli.main(["theano"]) == 2 and "the script to run is missing" in capsys.readouterr().err


def test_a_failing_script_shows_its_own_traceback_and_exits_1(tmp_path, capsys):
    script = tmp_path / "fails.py"
    script.write_text("def broken():\n    raise ValueError('boom')\n\nbroken()\n")
    unsupported = tmp_path / "unsupported.py"
    unsupported.write_text("from theano.tensor.nnet import conv3d_fft\n")
    python2 = tmp_path / "python2.py"
    python2.write_text("print 'hello'\n")
    exits = tmp_path / "exits.py"
    exits.write_text("import sys\nsys.exit(3)\n")
    assert cli.main(["theano", str(script)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("Traceback (most recent call last):\n")
    assert f'File "{script}", line 4, in <module>' in err and f'File "{script}", line 2, in broken' in err
    assert err.rstrip().endswith("ValueError: boom") and "runpy" not in err and "runner.py" not in err
    assert runner.main([str(unsupported)]) == 1
    assert "aerann.theano does not provide theano.tensor.nnet.conv3d_fft" in capsys.readouterr().err
    assert runner.main([str(python2)]) == 1
    err = capsys.readouterr().err
    assert "SyntaxError: Missing parentheses" in err and "docs/theano.md" in err
    assert runner.main([str(exits)]) == 3


SCRIPT = textwrap.dedent("""
    import sys
    import theano
    import theano.tensor as T

    x = T.dvector("x")
    total = theano.function([x], T.nnet.softmax(x)[0].dot(T.arange(3)))
    print("argv", sys.argv[1:])
    print("value %.6f" % total([1.0, 2.0, 3.0]))
""")


@pytest.mark.parametrize("command", [[sys.executable, "-m", "aerann.theano"],
                                     [sys.executable, "-m", "aerann.cli", "theano"]], ids=["python -m", "aerann"])
def test_the_commands_run_a_script_with_its_arguments(command, tmp_path):
    script = tmp_path / "script.py"
    script.write_text(SCRIPT)
    result = subprocess.run([*command, str(script), "a", "--b", "--", "c"], capture_output=True, text=True,
                            timeout=300, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    probabilities = np.exp([1.0, 2.0, 3.0]) / np.exp([1.0, 2.0, 3.0]).sum()
    assert result.stdout.splitlines() == ["argv ['a', '--b', '--', 'c']", f"value {probabilities @ [0, 1, 2]:.6f}"]
