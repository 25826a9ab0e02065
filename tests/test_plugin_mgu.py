"""A third-party unit, for real: plugins/aerann-mgu found through its entry point.

The plugin's source folder and a dist-info folder declaring its entry point
are put on sys.path, exactly what ``pip install`` leaves behind, so the
registry finds it the way it finds any installed plugin.
"""

import os
import subprocess
import sys

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import aerann
from aerann.backend import compiler
from aerann.data.corpora import agreement_sentences
from aerann.data.text import training_data, Vocabulary
from aerann.models import LanguageModel
from plugin_on_path import plugin_on_path, PLUGINS

PLUGIN = PLUGINS / "aerann-mgu"


@pytest.fixture(scope="module")
def plugin_paths(tmp_path_factory):
    with plugin_on_path(tmp_path_factory.mktemp("site"), "aerann-mgu", "aerann_mgu", "mgu") as paths:
        yield paths


def test_the_plugin_is_registered_through_its_entry_point(plugin_paths):
    assert "mgu" in aerann.units.names()
    assert aerann.units.sources()["mgu"] == "plugin 'mgu' (aerann_mgu) from aerann-mgu 0.1.0"
    assert {"elman", "rated", "gru", "lstm"} <= set(aerann.units.names())


@pytest.mark.slow
def test_the_plugins_own_tests_pass(plugin_paths):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(plugin_paths + [str(PLUGIN.parents[1])]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", str(PLUGIN / "tests")],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.slow
def test_mgu_stacks_with_gru_and_lstm_and_learns(plugin_paths):
    sentences = agreement_sentences(60, seed=4)
    vocab = Vocabulary.build(sentences, 20)
    X, Y = training_data(sentences, vocab)
    model = LanguageModel(len(vocab), 6, layers=[("gru", 6), ("mgu", 6), ("lstm", 5)], seed=1)
    history = model.fit(X, Y, epochs=6, learning_rate=0.02, mu=0.5, batch_size=6)
    assert history[-1] < 0.8 * history[0]
    path = model.save(plugin_paths[1] + "/stack.npz")
    assert LanguageModel.load(path).score(X, Y) == pytest.approx(model.score(X, Y))


@pytest.fixture(scope="module")
def mgu_loss_and_gradients(plugin_paths):
    """f(X, Y, mask, *params) -> [loss, *grads] of a one-layer MGU model, sizes symbolic."""
    model = LanguageModel(2, 1, layers=[("mgu", 1)])
    shared = list(model.params.values())
    symbols = [p.type() for p in shared]
    X, Y, mask = at.imatrix("X"), at.imatrix("Y"), at.matrix("mask")
    loss = model.symbolic_loss(X, Y, mask)
    fn = compiler.function([X, Y, mask] + symbols, [loss] + aesara.grad(loss, shared), givens=list(zip(shared, symbols)))
    return fn, list(model.params)


@settings(max_examples=8)
@given(T=st.integers(1, 4), B=st.integers(1, 3), V=st.integers(2, 4), E=st.integers(1, 3), H=st.integers(1, 3),
       seed=st.integers(0, 2**31))
def test_mgu_gradients_equal_finite_differences(mgu_loss_and_gradients, T, B, V, E, H, seed):
    fn, names = mgu_loss_and_gradients
    rng = np.random.default_rng(seed)
    shapes = {"embedding": (V, E), "output.W": (H, V), "output.b": (V,), "layer0.h0": (H,),
              "layer0.Wxf": (E, H), "layer0.Whf": (H, H), "layer0.bf": (H,),
              "layer0.Wxh": (E, H), "layer0.Whh": (H, H), "layer0.bh": (H,)}
    assert set(shapes) == set(names)
    params = [rng.normal(size=shapes[n]) * 0.5 for n in names]
    X, Y = rng.integers(V, size=(T, B)).astype(np.int32), rng.integers(V, size=(T, B)).astype(np.int32)
    mask = (np.arange(T)[:, None] < rng.integers(1, T + 1, size=B)[None, :]).astype(float)
    _, *grads = fn(X, Y, mask, *params)
    h = 1e-6
    for value, grad in zip(params, grads):
        for ix in np.ndindex(value.shape):
            original = value[ix]
            value[ix] = original + h
            plus = fn(X, Y, mask, *params)[0]
            value[ix] = original - h
            minus = fn(X, Y, mask, *params)[0]
            value[ix] = original
            assert grad[ix] == pytest.approx((plus - minus) / (2 * h), rel=1e-5, abs=1e-7)
