"""Models train, score and predict on Aesara's JAX backend (JAX on the CPU) as they do on C.

Batches on JAX are widened to the batch size (all-padding columns, mask 0)
so every batch of a length bucket has one shape: XLA compiles one program
per bucket, and the numbers are those of the C backend.
"""

import numpy as np
import pytest

pytest.importorskip("jax")

from aerann import compile  # noqa: E402
from aerann.models import LanguageModel, SequenceClassifier  # noqa: E402


def on_backend(name, run):
    """``run()`` with every function it compiles built for backend ``name``."""
    with compile.backend(name):
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
        (lambda: LanguageModel(9, 3, layers=[("gru", 4), ("lstm", 3)], seed=0), language_data, "rmsprop"),
        (
            lambda: SequenceClassifier(2, layers=[("elman", 3)], vocab_size=9, embedding_dim=2, seed=0),
            lambda: (language_data()[0], np.arange(11) % 2),
            "momentum",
        ),
    ],
    ids=["stacked gru/lstm language model", "classifier"],
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
