"""Dropout and recurrent (variational) dropout: training only, seeded, resumable, off by default.

The symbolic gradients with fixed masks are compared with the NumPy
references in tests/test_gradient_properties.py and tests/test_reference.py;
these tests check the masks themselves and what the models and the training
loop do with them.  One small model (a GRU over an LSTM) is compiled once.
"""

import aesara.tensor as at
import numpy as np
import pytest

from aerann import graph, LanguageModel, RecurrentUnit, SequenceTagger
from aerann.training import run

LAYERS = [("gru", 4), ("lstm", 3)]
X = [np.array([0, 2, 3, 4, 2]), np.array([0, 2, 4]), np.array([0, 3, 3, 4])]
Y = [np.array([2, 3, 4, 2, 1]), np.array([2, 4, 1]), np.array([3, 3, 4, 1])]


@pytest.fixture(scope="module")
def dropped():
    return LanguageModel(6, 3, layers=LAYERS, dropout=0.4, recurrent_dropout=0.3, seed=1)


def values(model):
    return {name: p.get_value() for name, p in model.params.items()}


def test_masks_are_zero_with_the_rate_and_scaled_otherwise(dropped):
    masks = dropped.dropout_masks(np.random.default_rng(0), 200, 50)
    # the embedding's output and the GRU's output (the LSTM's input), then each layer's h
    assert [m.shape for m in masks] == [(200, 50, 3), (200, 50, 4), (50, 4), (50, 3)]
    for mask, rate in zip(masks, [0.4, 0.4, 0.3, 0.3]):
        assert set(np.unique(mask)) == {0.0, 1 / (1 - rate)}
        assert abs((mask == 0).mean() - rate) < 0.05
        assert abs(mask.mean() - 1) < 0.1  # inverted dropout keeps the expected value
    again = dropped.dropout_masks(np.random.default_rng(0), 200, 50)
    assert all(np.array_equal(a, b) for a, b in zip(masks, again))


def test_masks_of_ones_give_the_step_without_dropout(dropped):
    # To rounding: the products with the masks change how the rewritten graph sums (with dropout 0 there
    # are no masks, and the graph is the one without dropout).
    plain = LanguageModel(6, 3, layers=LAYERS, seed=1)
    Xb, Yb, mask = plain.batch(X, Y, [0, 1, 2])
    ones = [np.ones_like(m) for m in dropped.dropout_masks(np.random.default_rng(0), *mask.shape)]
    start = values(dropped)
    loss = dropped.train_step("sgd")(Xb, Yb, mask, 0.1, *ones)
    np.testing.assert_allclose(loss, plain.train_step("sgd")(Xb, Yb, mask, 0.1), rtol=1e-14)
    for name, value in values(plain).items():
        np.testing.assert_allclose(dropped.params[name].get_value(), value, rtol=1e-12, atol=1e-15, err_msg=name)
    dropped.set_parameter_values(start)


def test_dropout_changes_training_but_never_evaluation_or_generation(dropped):
    plain = LanguageModel(6, 3, layers=LAYERS, seed=1)
    plain.set_parameter_values(values(dropped))
    for ours, theirs in zip(dropped.predict_proba(X), plain.predict_proba(X)):
        np.testing.assert_array_equal(ours, theirs)
    assert dropped.loss(X, Y) == plain.loss(X, Y) and dropped.perplexity(X, Y) == plain.perplexity(X, Y)
    np.testing.assert_array_equal(dropped.step([0, 2])[0], plain.step([0, 2])[0])
    start = values(dropped)
    dropped.fit(X, Y, epochs=1, learning_rate=0.1, batch_size=3)
    plain.fit(X, Y, epochs=1, learning_rate=0.1, batch_size=3)
    assert not np.array_equal(dropped.params["layer0.Whr"].get_value(), plain.params["layer0.Whr"].get_value())
    dropped.set_parameter_values(start)


def test_training_with_dropout_is_seeded(dropped):
    start = values(dropped)
    results = []
    for seed in (3, 3, 4):
        dropped.set_parameter_values(start)
        dropped.fit(X, Y, epochs=2, learning_rate=0.1, batch_size=1, seed=seed)
        results.append(values(dropped))
    dropped.set_parameter_values(start)
    assert all(np.array_equal(results[0][n], results[1][n]) for n in start)
    assert not np.array_equal(results[0]["layer1.Whi"], results[2]["layer1.Whi"])


class Crash(Exception):
    pass


def test_a_run_with_dropout_resumed_after_a_crash_ends_bit_for_bit_as_one_never_stopped(dropped, tmp_path):
    start = values(dropped)
    options = dict(epochs=2, batch_size=1, learning_rate=0.1, seed=7, checkpoint_every=2, verbose=False,
                   plot_loss=False)
    run.train(dropped, X, Y, tmp_path / "whole", **options)
    expected = values(dropped)

    def crash(trainer, loss):
        if trainer.step == 5:
            raise Crash

    dropped.set_parameter_values(start)
    with pytest.raises(Crash):
        run.train(dropped, X, Y, tmp_path / "cut", callback=crash, **options)
    dropped.set_parameter_values(start)
    run.train(dropped, X, Y, tmp_path / "cut", resume=True, **options)
    for name, value in expected.items():
        np.testing.assert_array_equal(dropped.params[name].get_value(), value, err_msg=name)
    dropped.set_parameter_values(start)


def test_dropout_is_saved_with_the_model_and_zero_leaves_the_configuration_as_it_was(dropped, tmp_path):
    dropped.save(tmp_path / "lm.npz")
    loaded = LanguageModel.load(tmp_path / "lm.npz")
    assert (loaded.dropout, loaded.recurrent_dropout) == (0.4, 0.3)
    assert LanguageModel(6, 3, layers=LAYERS, dropout=0.0).config() == LanguageModel(6, 3, layers=LAYERS).config()


def test_a_tagger_drops_between_layers_but_not_its_features():
    tagger = SequenceTagger(2, 2, layers=[("elman", 3), ("elman", 2)], dropout=0.5)
    assert tagger.stack.dropout == [0.0, 0.5]
    assert [m.shape for m in tagger.dropout_masks(np.random.default_rng(0), 4, 2)] == [(4, 2, 3)]


@pytest.mark.parametrize("options, message", [
    ({"dropout": 1.0}, r"dropout must be a rate in \[0, 1\), got 1.0"),
    ({"dropout": -0.1}, r"dropout must be a rate in \[0, 1\), got -0.1"),
    ({"dropout": "0.5"}, r"dropout must be a rate in \[0, 1\), got '0.5'"),
    ({"recurrent_dropout": 1}, r"recurrent_dropout must be a rate in \[0, 1\), got 1"),
])
def test_bad_rates_say_what_a_rate_is(options, message):
    with pytest.raises(ValueError, match=message):
        LanguageModel(6, 3, layers=LAYERS, **options)


class Silent(RecurrentUnit):
    """A unit that does not say where its state enters its recurrent products."""

    name = "silent"

    def __init__(self, n_in, n_out, rng=None):
        super().__init__(n_in, n_out)
        self.W = self.param("W", (n_out, n_out))

    def step(self, x_t, h):
        return at.tanh(h.dot(self.W))


def test_recurrent_dropout_of_a_unit_that_does_not_opt_in_is_a_clear_error():
    unit = Silent(2, 3, 0)
    with pytest.raises(ValueError, match="Silent does not say: it lists no recurrent_inputs"):
        graph.scan_layer(unit, at.tensor3("x"), recurrent_masks=[at.matrix("m")])
