"""Sampling controls and beam search, on the tutorial's NumPy model (nothing to compile): each against its definition."""

import itertools
import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from aerann import RNNNumpy, generate_sentence
from aerann.data.text import SENTENCE_END, SENTENCE_START, UNKNOWN_TOKEN, Vocabulary
from aerann.tutorial.generate import beam_search, check_sampling, reshape_distribution

VOCAB = Vocabulary([SENTENCE_START, SENTENCE_END, "a", "b", "c", UNKNOWN_TOKEN])
distributions = arrays(np.float64, st.integers(2, 12), elements=st.floats(0.01, 1.0)).map(lambda p: p / p.sum())


@pytest.fixture(scope="module")
def model():
    np.random.seed(3)
    rnn = RNNNumpy(len(VOCAB), hidden_dim=5, bptt_truncate=4)
    rnn.U *= 20  # large weights: a peaked distribution that differs from word to word
    rnn.W *= 5
    return rnn


@settings(max_examples=60, deadline=None)
@given(distributions, st.floats(0.2, 5.0))
def test_temperature_is_the_softmax_of_the_log_probabilities_over_t(p, temperature):
    expected = np.exp(np.log(p) / temperature)
    np.testing.assert_allclose(reshape_distribution(p, temperature), expected / expected.sum(), rtol=1e-10)
    assert reshape_distribution(p) is not None and np.array_equal(reshape_distribution(p), p)  # defaults: unchanged


@settings(max_examples=60, deadline=None)
@given(distributions, st.data())
def test_top_k_keeps_the_k_likeliest_and_top_p_the_smallest_nucleus(p, data):
    k = data.draw(st.integers(1, len(p)))
    kept = reshape_distribution(p, top_k=k)
    assert np.count_nonzero(kept) == k and math.isclose(kept.sum(), 1.0)
    assert p[kept > 0].min() >= p[kept == 0].max(initial=0.0)
    np.testing.assert_allclose(kept[kept > 0], p[kept > 0] / p[kept > 0].sum())
    top_p = data.draw(st.floats(0.05, 1.0))
    nucleus = reshape_distribution(p, top_p=top_p)
    inside = np.sort(p[nucleus > 0])[::-1]
    assert inside.sum() >= top_p * (1 - 1e-9)  # enough mass ...
    assert inside[:-1].sum() < top_p  # ... and no word more than needed
    assert p[nucleus > 0].min() >= p[nucleus == 0].max(initial=0.0)


def test_a_low_temperature_or_top_k_1_samples_the_likeliest_word_every_time(model):
    greedy, token = [], VOCAB.start_index
    state = None
    for _ in range(6):
        p, state = model.forward_step(token, state)
        p = np.where(np.isin(np.arange(len(VOCAB)), [VOCAB.unknown_index, VOCAB.start_index]), 0, p)
        token = int(np.argmax(p))
        if token == VOCAB.end_index:
            break
        greedy.append(VOCAB.index_to_word[token])
    for seed in range(3):
        assert generate_sentence(model, VOCAB, max_length=6, rng=seed, top_k=1) == greedy
        assert generate_sentence(model, VOCAB, max_length=6, rng=seed, temperature=1e-4) == greedy


def test_the_default_controls_leave_the_tutorials_sentences_as_they_were(model):
    for seed in range(5):
        default = generate_sentence(model, VOCAB, max_length=8, rng=seed)
        assert generate_sentence(model, VOCAB, max_length=8, rng=seed, temperature=1.0, top_k=None,
                                 top_p=None) == default
        assert generate_sentence(model, VOCAB, max_length=8, rng=seed, top_p=1.0, top_k=len(VOCAB)) == default


def test_a_prime_begins_the_sentence_and_its_unknown_words_are_named(model):
    sentence = generate_sentence(model, VOCAB, min_length=3, max_length=6, rng=0, prime="B a")
    assert sentence[:2] == ["b", "a"] and 3 <= len(sentence) <= 6
    with pytest.warns(UserWarning, match=r"note: the prime's words 'zebra' are not in the vocabulary"):
        sentence = generate_sentence(model, VOCAB, max_length=4, rng=0, prime=["a", "zebra"])
    assert sentence[:2] == ["a", UNKNOWN_TOKEN]


def sentence_log_probability(model, words, prime=(), ended=True):
    """log p(words, and SENTENCE_END when it ended | SENTENCE_START, prime), by the whole forward pass."""
    tokens = [VOCAB.start_index, *(VOCAB.word_to_index[w] for w in [*prime, *words])]
    o, _ = model.forward_propagation(tokens)
    targets = [*tokens[1:], VOCAB.end_index][: len(tokens) - 1 + ended]
    return float(sum(np.log(o[t, targets[t]]) for t in range(len(prime), len(targets))))


@pytest.mark.parametrize("length_penalty", [0.0, 1.0])
def test_a_beam_wide_enough_finds_the_best_sentence_of_all(model, length_penalty):
    # Every sentence of up to 3 words ended by SENTENCE_END, and every 4 words long (max_length 4).
    scored = []
    for n in range(0, 5):
        for sentence in itertools.product(["a", "b", "c"], repeat=n):
            ended = n < 4
            log_p = sentence_log_probability(model, list(sentence), ended=ended)
            scored.append((log_p / max(n + ended, 1) ** length_penalty, list(sentence), log_p))
    scored.sort(key=lambda s: -s[0])
    found = beam_search(model, VOCAB, beam_width=200, max_length=4, length_penalty=length_penalty)
    assert [words for words, _ in found[:5]] == [words for _, words, _ in scored[:5]]
    for (words, log_p), (_, _, expected) in zip(found[:5], scored[:5]):
        assert log_p == pytest.approx(expected, abs=1e-9)


def test_beam_width_1_is_greedy_and_its_log_probability_is_the_sentences(model):
    (words, log_p), = beam_search(model, VOCAB, beam_width=1, max_length=6, prime=["c"])
    assert words[0] == "c"
    assert generate_sentence(model, VOCAB, max_length=6, top_k=1, prime=["c"], rng=0) == words
    assert log_p == pytest.approx(sentence_log_probability(model, words[1:], prime=["c"], ended=len(words) < 6),
                                  abs=1e-9)


@pytest.mark.parametrize("call, message", [
    (lambda m: generate_sentence(m, VOCAB, temperature=0), "temperature must be positive, got 0"),
    (lambda m: generate_sentence(m, VOCAB, top_k=0), "top_k must be at least 1, got 0"),
    (lambda m: generate_sentence(m, VOCAB, top_p=1.5), r"top_p must be in \(0, 1\], got 1.5"),
    (lambda m: generate_sentence(m, VOCAB, top_p=0), r"top_p must be in \(0, 1\], got 0"),
    (lambda m: beam_search(m, VOCAB, beam_width=0), "beam_width must be at least 1, got 0"),
    (lambda m: generate_sentence(m, VOCAB, prime=3), "prime must be a string or a list of words"),
])
def test_bad_sampling_controls_are_named(model, call, message):
    with pytest.raises((ValueError, TypeError), match=message), warnings.catch_warnings():
        call(model)
    with pytest.raises(TypeError, match="temperature must be a finite number"):
        check_sampling(float("nan"))
