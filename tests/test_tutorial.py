"""RNNTheano: the tutorial's graph on Aesara, checked against RNNNumpy and the literal tutorial graph."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.tensor.special import softmax

from aerann import (
    RNNNumpy,
    RNNTheano,
    gradient_check_theano,
    load_model_parameters_theano,
    save_model_parameters_theano,
)
from aerann.backend.compiler import function as compile_function

WORDS, HIDDEN, TRUNCATE = 40, 6, 3
X = [0, 5, 3, 7, 2, 9, 11, 4]
Y = [5, 3, 7, 2, 9, 11, 4, 1]


@pytest.fixture(scope="module")
def truncated():
    np.random.seed(10)
    return RNNTheano(WORDS, HIDDEN, bptt_truncate=TRUNCATE)


@pytest.fixture(scope="module")
def untruncated():
    np.random.seed(10)
    return RNNTheano(WORDS, HIDDEN, bptt_truncate=1000)


def numpy_twin(model):
    twin = RNNNumpy(model.word_dim, model.hidden_dim, bptt_truncate=model.bptt_truncate)
    twin.U, twin.V, twin.W = (p.get_value().copy() for p in (model.U, model.V, model.W))
    return twin


def literal_tutorial_bptt(model):
    """The tutorial's own graph: softmax inside the scan step, categorical cross-entropy."""
    U, V, W = model.U, model.V, model.W
    x, y = at.ivector("x"), at.ivector("y")

    def forward_prop_step(x_t, s_t_prev, U, V, W):
        s_t = at.tanh(U[:, x_t] + W.dot(s_t_prev))
        o_t = softmax(V.dot(s_t), axis=-1)
        return [o_t, s_t]

    [o, s], _ = aesara.scan(
        forward_prop_step,
        sequences=x,
        outputs_info=[None, dict(initial=at.zeros(model.hidden_dim))],
        non_sequences=[U, V, W],
        truncate_gradient=model.bptt_truncate,
        strict=True,
    )
    o_error = at.sum(-at.log(o[at.arange(y.shape[0]), y]))
    return compile_function([x, y], [o, o_error, *aesara.grad(o_error, [U, V, W])])


def test_untruncated_matches_rnnnumpy(untruncated):
    twin = numpy_twin(untruncated)
    np.testing.assert_allclose(untruncated.forward_propagation(X), twin.forward_propagation(X)[0], rtol=0, atol=1e-10)
    for ours, reference in zip(untruncated.bptt(X, Y), twin.bptt(X, Y)):
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-8)
    np.testing.assert_allclose(untruncated.ce_error(X, Y), twin.calculate_total_loss([X], [Y]), rtol=1e-12)
    np.testing.assert_array_equal(untruncated.predict(X), twin.predict(X))


@pytest.mark.parametrize("which", ["truncated", "untruncated"])
def test_same_numbers_as_the_literal_tutorial_graph(which, request):
    model = request.getfixturevalue(which)
    o, o_error, *grads = literal_tutorial_bptt(model)(X, Y)
    np.testing.assert_allclose(model.forward_propagation(X), o, atol=1e-12)
    np.testing.assert_allclose(model.ce_error(X, Y), o_error, rtol=1e-12)
    for ours, tutorial in zip(model.bptt(X, Y), grads):
        np.testing.assert_allclose(ours, tutorial, atol=1e-12)


def numerical_gradients(model, loss, h=1e-5):
    """Central differences of loss() over every entry of an RNNNumpy's U, V, W."""
    gradients = []
    for name in ("U", "V", "W"):
        parameter = getattr(model, name)
        gradient = np.zeros_like(parameter)
        for ix in np.ndindex(parameter.shape):
            original = parameter[ix]
            parameter[ix] = original + h
            plus = loss()
            parameter[ix] = original - h
            minus = loss()
            parameter[ix] = original
            gradient[ix] = (plus - minus) / (2 * h)
        gradients.append(gradient)
    return gradients


def tail_loss(model, x, y, first, start_state):
    """Summed loss of steps first .. T-1, running the recurrence from a fixed state before step ``first``."""
    s, loss = start_state, 0.0
    for t in range(first, len(x)):
        s = np.tanh(model.U[:, x[t]] + model.W.dot(s))
        logits = model.V.dot(s)
        loss -= logits[y[t]] - np.log(np.sum(np.exp(logits)))
    return loss


def test_truncation_is_the_gradient_of_the_last_steps(truncated):
    """bptt = gradient of the last k steps' loss with the state before them held constant."""
    twin = numpy_twin(truncated)
    first = len(X) - TRUNCATE
    _, s = twin.forward_propagation(X)
    expected = numerical_gradients(twin, lambda: tail_loss(twin, X, Y, first, s[first - 1].copy()))
    for ours, reference in zip(truncated.bptt(X, Y), expected):
        np.testing.assert_allclose(ours, reference, rtol=0, atol=1e-8)
    # RNNNumpy's per-output truncation is a different approximation.
    assert not np.allclose(truncated.bptt(X, Y)[2], twin.bptt(X, Y)[2])
    import aerann.tutorial

    assert "truncates per output step" in aerann.tutorial.rnn_theano.__doc__.replace("\n", " ")


def test_gradient_check_theano_passes(untruncated, truncated):
    assert gradient_check_theano(untruncated, [0, 1, 2, 3], [1, 2, 3, 4])
    # A truncating model is checked against its untruncated gradients.
    assert gradient_check_theano(truncated, X[:6], Y[:6])


def test_gradient_check_theano_reports_a_wrong_gradient(untruncated, monkeypatch, capsys):
    true_bptt = untruncated.bptt
    monkeypatch.setattr(untruncated, "bptt", lambda x, y: [g if i else 2 * g for i, g in enumerate(true_bptt(x, y))])
    assert not gradient_check_theano(untruncated, [0, 1, 2, 3], [1, 2, 3, 4])
    printed = capsys.readouterr().out
    assert "Gradient Check ERROR: parameter=U ix=(0, 0)" in printed
    assert "Gradient check for parameter U passed." not in printed


@pytest.fixture
def restored(truncated):
    """The truncated model, given back with its own parameters after the test."""
    saved = [p.get_value() for p in (truncated.U, truncated.V, truncated.W)]
    yield truncated
    for shared, value in zip((truncated.U, truncated.V, truncated.W), saved):
        shared.set_value(value)
    truncated.hidden_dim, truncated.word_dim = HIDDEN, WORDS


def test_loss_at_initialisation_is_log_of_the_vocabulary(restored, tmp_path):
    # The tutorial's sizes (8000 words, 100 hidden units: expected loss 8.987),
    # loaded into the compiled model, whose graph does not depend on them.
    np.random.seed(10)
    reference = RNNNumpy(8000, 100)
    load_model_parameters_theano(save_model_parameters_theano(tmp_path / "init", reference), restored)
    rng = np.random.default_rng(1)
    lengths = rng.integers(5, 25, size=40)
    X_ = [rng.integers(8000, size=n) for n in lengths]
    Y_ = [rng.integers(8000, size=n) for n in lengths]
    loss = restored.calculate_loss(X_, Y_)
    assert abs(loss - np.log(8000)) < 0.01
    np.testing.assert_allclose(loss, reference.calculate_loss(X_, Y_), rtol=1e-12)


def test_sgd_step_applies_the_bptt_gradients(untruncated):
    before = [p.get_value().copy() for p in (untruncated.U, untruncated.V, untruncated.W)]
    grads = untruncated.bptt(X, Y)
    untruncated.sgd_step(X, Y, 0.5)
    for shared, old, grad in zip((untruncated.U, untruncated.V, untruncated.W), before, grads):
        np.testing.assert_allclose(shared.get_value(), old - 0.5 * grad, atol=1e-12)
        shared.set_value(old)


@pytest.mark.parametrize(
    "call, error, words",
    [
        (lambda m: m.bptt([1, 2], [1]), ValueError, "same length"),
        (lambda m: m.forward_propagation([]), ValueError, "empty"),
        (lambda m: m.ce_error([1, 400], [1, 2]), ValueError, "outside the vocabulary"),
        (lambda m: m.predict([0.5, 1.0]), TypeError, "integer"),
        (lambda m: m.sgd_step([1, 2], [2, 3], float("nan")), ValueError, "learning_rate"),
        (lambda m: m.calculate_loss([], []), ValueError, "empty"),
    ],
)
def test_bad_input_gets_a_clear_error(truncated, call, error, words):
    with pytest.raises(error, match=words):
        call(truncated)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_a_file_written_by_the_tutorials_code_loads(tmp_path, restored, dtype):
    np.random.seed(7)
    reference = RNNNumpy(WORDS + 5, HIDDEN + 2)
    reference.U, reference.V, reference.W = (a.astype(dtype) for a in (reference.U, reference.V, reference.W))
    outfile = tmp_path / "trained-model-theano.npz"
    # The tutorial's save_model_parameters_theano (float32 under Theano's GPU floatX).
    np.savez(outfile, U=reference.U, V=reference.V, W=reference.W)
    load_model_parameters_theano(outfile, restored)
    assert (restored.word_dim, restored.hidden_dim) == (WORDS + 5, HIDDEN + 2)
    np.testing.assert_allclose(restored.forward_propagation(X), reference.forward_propagation(X)[0], rtol=0, atol=1e-10)
    assert restored.predict([WORDS + 4]).shape == (1,)
    with pytest.raises(ValueError, match="outside the vocabulary"):
        restored.predict([WORDS + 5])
    # Saved again as the tutorial would, it loads into an RNNNumpy of any size.
    again = save_model_parameters_theano(tmp_path / "again", restored)
    assert again.name == "again.npz"
    with np.load(again) as npzfile:
        assert sorted(npzfile.files) == ["U", "V", "W"]
    numpy_model = RNNNumpy(3, 2)
    load_model_parameters_theano(again, numpy_model)
    np.testing.assert_allclose(numpy_model.forward_propagation(X)[0], reference.forward_propagation(X)[0], atol=1e-10)


@pytest.mark.parametrize(
    "arrays, words",
    [
        ({"U": np.zeros((3, 5)), "V": np.zeros((5, 3))}, "exactly the arrays U, V, W"),
        ({"U": np.zeros((3, 5)), "V": np.zeros((5, 3)), "W": np.zeros((3, 3)), "b": np.zeros(3)}, "exactly"),
        ({"U": np.zeros((3, 5)), "V": np.zeros((4, 3)), "W": np.zeros((3, 3))}, "inconsistent shapes"),
        ({"U": np.zeros(3), "V": np.zeros((5, 3)), "W": np.zeros((3, 3))}, "2-D float"),
        ({"U": np.zeros((3, 5), dtype=int), "V": np.zeros((5, 3)), "W": np.zeros((3, 3))}, "2-D float"),
    ],
)
def test_a_wrong_parameter_file_is_refused(tmp_path, arrays, words):
    path = tmp_path / "bad.npz"
    np.savez(path, **arrays)
    model = RNNNumpy(5, 3)
    with pytest.raises(ValueError, match=words):
        load_model_parameters_theano(path, model)


def test_a_corrupt_or_pickled_file_is_refused(tmp_path):
    truncated_file = tmp_path / "cut.npz"
    np.savez(truncated_file, U=np.zeros((3, 5)), V=np.zeros((5, 3)), W=np.zeros((3, 3)))
    truncated_file.write_bytes(truncated_file.read_bytes()[:100])
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, U=np.array([object()]), V=np.zeros((5, 3)), W=np.zeros((3, 3)))
    not_an_archive = tmp_path / "U.npy"
    np.save(not_an_archive, np.zeros((3, 5)))
    for path in (truncated_file, pickled, not_an_archive, tmp_path / "missing.npz"):
        with pytest.raises(ValueError, match="cannot read parameters"):
            load_model_parameters_theano(path, RNNNumpy(5, 3))


def test_functions_compile_on_first_call_only_and_report_their_time(monkeypatch):
    from aerann.backend import compiler

    compiled = []
    real = compiler.function
    monkeypatch.setattr(compiler, "function", lambda *a, name=None, **k: compiled.append(name) or real(*a, name=name, **k))
    np.random.seed(10)
    model = RNNTheano(WORDS, HIDDEN, bptt_truncate=TRUNCATE)
    assert compiled == [] and model.compile_seconds() == 0.0
    assert "compiled on first call" in repr(model.sgd_step)
    error = model.ce_error(X, Y)
    assert compiled == ["ce_error"] and model.ce_error.compile_seconds > 0
    assert model.ce_error(X, Y) == error and compiled == ["ce_error"]
    np.testing.assert_array_equal(model.predict(X), np.argmax(model.forward_propagation(X), axis=1))
    assert compiled == ["ce_error", "predict", "forward_propagation"]
    assert model.compile_seconds() == pytest.approx(sum(
        f.compile_seconds for f in (model.ce_error, model.predict, model.forward_propagation)))
    with pytest.raises(ValueError):
        model.sgd_step(X, Y[:-1], 0.1)  # arguments are checked before anything is compiled
    assert "sgd_step" not in compiled
