"""Models run from given states and return their final states; a language model steps one token at a time."""

import numpy as np
import pytest

from aerann import generate_sentence, LanguageModel, RNNNumpy, RNNTheano, SequenceClassifier
from aerann.data.text import SENTENCE_END, SENTENCE_START, UNKNOWN_TOKEN
from aerann.tutorial.generate import beam_search, next_word_sampler

V = 12


@pytest.fixture(scope="module")
def lm():
    """A GRU under an LSTM (states h; h and c), with non-zero learnable initial states."""
    model = LanguageModel(V, 3, layers=[("gru", 4), ("lstm", 3)], seed=0)
    rng = np.random.default_rng(0)
    for unit in model.units:
        for h0 in unit.initial_states():
            h0.set_value(rng.normal(size=h0.get_value().shape))
    return model


def sequences(rng, lengths):
    return [rng.integers(V, size=n).astype(np.int32) for n in lengths]


def assert_states_close(got, expected):
    assert [len(layer) for layer in got] == [len(layer) for layer in expected]
    for layer, expected_layer in zip(got, expected):
        for state, expected_state in zip(layer, expected_layer):
            np.testing.assert_allclose(state, expected_state, rtol=1e-10, atol=1e-12)


def test_run_from_the_learnable_states_predicts_as_predict_proba(lm):
    X = sequences(np.random.default_rng(1), [5, 2, 7])
    probabilities, final = lm.run(X)
    for got, expected in zip(probabilities, lm.predict_proba(X)):
        np.testing.assert_allclose(got, expected, rtol=1e-10)
    assert [[s.shape for s in layer] for layer in final] == [[(3, 4)], [(3, 3), (3, 3)]]


def test_running_sequences_in_two_parts_carrying_the_states_equals_one_run(lm):
    rng = np.random.default_rng(2)
    X = sequences(rng, [6, 3, 8])
    initial = [[rng.normal(size=s.shape) for s in layer] for layer in lm.initial_states(3)]
    whole, final = lm.run(X, initial)
    first, carried = lm.run([x[:2] for x in X], initial)
    second, final_of_parts = lm.run([x[2:] for x in X], carried)
    for b in range(3):
        np.testing.assert_allclose(np.concatenate([first[b], second[b]]), whole[b], rtol=1e-10)
    assert_states_close(final_of_parts, final)


def test_stepping_token_by_token_gives_every_prefixs_distribution_and_the_final_states(lm):
    X = sequences(np.random.default_rng(3), [6, 6])
    expected, final = lm.run(X)
    states = None
    for t in range(6):
        probabilities, states = lm.step([x[t] for x in X], states)
        for b in range(2):
            np.testing.assert_allclose(probabilities[b], expected[b][t], rtol=1e-10)
    assert_states_close(states, final)


def test_a_classifier_runs_from_given_states_too():
    model = SequenceClassifier(2, layers=[("elman", 3)], vocab_size=V, embedding_dim=2, seed=0)
    X = sequences(np.random.default_rng(4), [4, 2, 3])
    probabilities, final = model.run(X)
    np.testing.assert_allclose(probabilities, model.predict_proba(X), rtol=1e-10)
    _, carried = model.run([x[:1] for x in X])
    second, final_of_parts = model.run([x[1:] for x in X], carried)
    np.testing.assert_allclose(second, probabilities, rtol=1e-10)
    assert_states_close(final_of_parts, final)


@pytest.mark.parametrize(
    "states, message",
    [
        ([[np.zeros((1, 4))]], r"states: expected a list of 2 layer\(s\), got 1"),
        ([[np.zeros((1, 4))], [np.zeros((1, 3))]], r"states of layer 1 \(lstm\): expected 2 state\(s\) \('h', 'c'\), got 1"),
        ([[np.zeros((2, 4))], [np.zeros((1, 3))] * 2], r"states: h of layer 0 \(gru\) must be a \(1, 4\) array"),
        ([[np.full((1, 4), np.nan)], [np.zeros((1, 3))] * 2], r"h of layer 0 \(gru\) holds NaN"),
        ("h", r"states: expected a list of 2 layer\(s\), got str"),
    ],
)
def test_bad_states_are_named(lm, states, message):
    with pytest.raises(ValueError, match=message):
        lm.step([1], states)


class Vocabulary:
    index_to_word = [SENTENCE_START, SENTENCE_END, *"abcdefghi", UNKNOWN_TOKEN]
    start_index, end_index, unknown_index = 0, 1, V - 1


class Counting:
    """Wraps a model, counting the tokens fed to it."""

    def __init__(self, model, method):
        self.model, self.fed = model, 0
        self.vocab_size = getattr(model, "vocab_size", None)
        self.word_dim = getattr(model, "word_dim", None)
        setattr(self, method, getattr(self, f"_{method}"))

    def _step(self, tokens, states):
        self.fed += len(tokens)
        return self.model.step(tokens, states)

    def _forward_step(self, token, state):
        self.fed += 1
        return self.model.forward_step(token, state)


class PrefixOnly:
    """The same model seen through the tutorial's forward_propagation alone: the whole prefix at every word."""

    def __init__(self, model):
        self.model = model
        self.word_dim = V

    def forward_propagation(self, x):
        if isinstance(self.model, LanguageModel):
            return self.model.predict_proba([x])[0]
        return self.model.forward_propagation(x)


@pytest.fixture(scope="module")
def tutorial_models():
    np.random.seed(0)
    return {"RNNNumpy": RNNNumpy(V, hidden_dim=5), "RNNTheano": RNNTheano(V, hidden_dim=5)}


@pytest.mark.parametrize("name", ["LanguageModel", "RNNNumpy", "RNNTheano"])
def test_a_sentence_of_n_words_feeds_n_tokens_and_samples_what_rerunning_the_prefix_samples(name, lm, tutorial_models):
    model = lm if name == "LanguageModel" else tutorial_models[name]
    counting = Counting(model, "step" if name == "LanguageModel" else "forward_step")
    words = generate_sentence(counting, Vocabulary(), min_length=20, max_length=20, rng=5)
    assert len(words) == 20 and counting.fed == 20  # START and the 19 words after it, then the 20th is drawn
    assert words == generate_sentence(PrefixOnly(model), Vocabulary(), min_length=20, max_length=20, rng=5)


def test_the_tutorial_models_steps_are_their_forward_propagation(tutorial_models):
    x = [0, 3, 5, 2, 7]
    for model in tutorial_models.values():
        expected = model.forward_propagation(x)
        expected = expected[0] if isinstance(expected, tuple) else expected
        sample = next_word_sampler(model)
        for t, token in enumerate(x):
            np.testing.assert_allclose(sample(token), expected[t], rtol=1e-6)


@pytest.mark.parametrize("name", ["LanguageModel", "RNNNumpy", "RNNTheano"])
def test_beam_search_on_the_carried_states_finds_what_rerunning_every_prefix_finds(name, lm, tutorial_models):
    model = lm if name == "LanguageModel" else tutorial_models[name]
    found = beam_search(model, Vocabulary(), beam_width=4, max_length=5)
    again = beam_search(PrefixOnly(model), Vocabulary(), beam_width=4, max_length=5)
    assert len(found) == 4 and [words for words, _ in found] == [words for words, _ in again]
    np.testing.assert_allclose([p for _, p in found], [p for _, p in again], rtol=1e-6)
    assert all(p < 0 for _, p in found)
