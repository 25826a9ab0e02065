"""Models train, score and predict on Aesara's JAX backend (JAX on the CPU) as they do on C.

Batches on JAX are widened to the batch size (all-padding columns, mask 0)
so every batch of a length bucket has one shape: XLA compiles one program
per bucket, and the numbers are those of the C backend.
"""

import numpy as np
import pytest

pytest.importorskip("jax")

from aerann.backend import compiler  # noqa: E402
from aerann.models import LanguageModel, SequenceClassifier  # noqa: E402


def on_backend(name, run):
    """``run()`` with every function it compiles built for backend ``name``."""
    with compiler.backend(name):
        return run()


def language_data():
    rng = np.random.default_rng(4)
    X = [rng.integers(0, 9, n) for n in rng.integers(1, 9, 11)]  # one length bucket (8): one program per function
    return X, [rng.integers(0, 9, len(x)) for x in X]


def train_and_use(build, X, Y, optimizer):
    model = build()
    history = model.fit(X, Y, epochs=2, learning_rate=0.05, batch_size=4, optimizer=optimizer, seed=1)
    return history, model.loss(X, Y), model.predict_proba(X), {n: p.get_value() for n, p in model.params.items()}


@pytest.mark.parametrize(
    "build, data, optimizer",
    [
        pytest.param(
            lambda: LanguageModel(9, 3, layers=[("gru", 4), ("lstm", 3)], seed=0), language_data, "rmsprop",
            id="stacked gru/lstm language model", marks=pytest.mark.slow,
        ),
        pytest.param(
            lambda: SequenceClassifier(2, layers=[("elman", 3)], vocab_size=9, embedding_dim=2, seed=0),
            lambda: (language_data()[0], np.arange(11) % 2),
            "momentum",
            id="classifier",
        ),
    ],
)
def test_training_on_jax_matches_the_c_backend(build, data, optimizer):
    X, Y = data()
    on_c = on_backend("c", lambda: train_and_use(build, X, Y, optimizer))
    on_jax = on_backend("jax", lambda: train_and_use(build, X, Y, optimizer))
    np.testing.assert_allclose(on_jax[0], on_c[0], rtol=1e-9)
    np.testing.assert_allclose(on_jax[1], on_c[1], rtol=1e-9)
    for ours, theirs in zip(on_jax[2], on_c[2]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12)
    for name, value in on_c[3].items():
        np.testing.assert_allclose(on_jax[3][name], value, rtol=1e-8, atol=1e-12, err_msg=name)


@pytest.mark.slow
def test_the_tutorials_rnntheano_runs_per_sentence_on_jax_as_on_c():
    from aerann import RNNTheano

    sentences = [([0, 3, 4, 5], [3, 4, 5, 1]), ([2, 6, 1], [6, 1, 7])]  # two lengths: two programs

    def train():
        np.random.seed(3)
        model = RNNTheano(8, 5, bptt_truncate=2)
        for x, y in sentences * 2:
            model.sgd_step(x, y, 0.1)
        return [p.get_value() for p in (model.U, model.V, model.W)], model.calculate_loss(*zip(*sentences)), [
            np.asarray(model.predict(x)) for x, _ in sentences
        ]

    (c_params, c_loss, c_predictions), (j_params, j_loss, j_predictions) = on_backend("c", train), on_backend("jax", train)
    for ours, theirs in zip(j_params, c_params):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(j_loss, c_loss, rtol=1e-10)
    for ours, theirs in zip(j_predictions, c_predictions):
        np.testing.assert_array_equal(ours, theirs)


@pytest.mark.slow
def test_a_float32_model_trains_on_jax_after_a_float64_one_turned_on_64_bit_mode():
    import aesara

    X, Y = [np.array([1, 2, 3]), np.array([4, 5])], [np.array([2, 3, 4]), np.array([5, 6])]

    def train_both():
        LanguageModel(9, 3, [("elman", 4)], seed=0).fit(X, Y, epochs=1, batch_size=2)
        with aesara.config.change_flags(floatX="float32"):
            model = LanguageModel(9, 3, [("elman", 4)], seed=0)
            return model.fit(X, Y, epochs=2, batch_size=2), model

    history, model = on_backend("jax", train_both)
    assert np.all(np.isfinite(history)) and history[1] < history[0]
    assert {p.get_value().dtype for p in model.params.values()} == {np.dtype("float32")}
