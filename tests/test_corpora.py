"""The embedded corpora ship with Python itself and behave as documented."""

import math

import nltk
import nltk.data
import numpy as np
import pytest

from aerann.data import corpora
from aerann.data.text import SENTENCE_END, SENTENCE_START

SINGULAR_NOUNS = {singular for singular, _ in corpora.NOUNS}
PLURAL_NOUNS = {plural for _, plural in corpora.NOUNS}
TRANSITIVE = {form: number for pair in corpora.TRANSITIVE_VERBS for number, form in enumerate(pair)}
INTRANSITIVE = {form: number for pair in corpora.INTRANSITIVE_VERBS for number, form in enumerate(pair)}


@pytest.fixture(autouse=True)
def no_nltk_data(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("the corpora must need no NLTK data and never download it")

    monkeypatch.setattr(nltk, "download", refuse)
    monkeypatch.setattr(nltk.data, "load", refuse)
    monkeypatch.setattr(nltk.data, "find", refuse)


@pytest.fixture(scope="module")
def pydoc():
    return corpora.default_corpus("pydoc")


def test_pydoc_corpus_is_tens_of_thousands_of_words_of_wrapped_sentences(pydoc):
    words = sum(len(s) - 2 for s in pydoc)
    assert 2000 < len(pydoc) < 6000 and 50_000 < words < 100_000
    assert all(s[0] == SENTENCE_START and s[-1] == SENTENCE_END and len(s) > 2 for s in pydoc)
    assert all(w == w.lower() for s in pydoc for w in s[1:-1])


def test_pydoc_corpus_reads_like_prose(pydoc):
    tokens = [w for s in pydoc for w in s[1:-1]]
    assert sum(w.isalpha() for w in tokens) > 0.7 * len(tokens)
    ends = sum(s[-2] in {".", "?", "!", ":"} for s in pydoc)
    assert ends > 0.9 * len(pydoc)
    markup = {"::=", ">>>"}  # grammar rules and doctests; quoted literals like "|" are prose
    assert not any(w in markup or w.startswith(("+-", "===", "***", "---")) for w in tokens)
    assert "’" not in tokens and "'s" in tokens  # typographic apostrophes made ASCII
    raw = corpora.pydoc_text(clean=False)
    assert "::=" in raw and ">>>" in raw and len(raw.split()) > len(corpora.pydoc_text().split())


def test_pydoc_corpus_is_deterministic_and_callers_get_their_own_copy(pydoc):
    assert corpora.pydoc_text() == corpora.pydoc_text()
    again = corpora.default_corpus("pydoc")
    assert again == pydoc
    again[0].append("mutated")
    assert corpora.default_corpus("pydoc") == pydoc


def _log_probability_under_the_grammar(sentence, max_depth):
    """Sum over the predicted tokens of log P(token | prefix), read off the grammar.

    Asserts on the way that the sentence is grammatical and every verb agrees
    with its subject.
    """
    p = corpora.RELATIVE_CLAUSE_PROBABILITY
    position = 1  # SENTENCE_START is given, never predicted

    def noun_phrase(depth):
        nonlocal position
        the, noun = sentence[position : position + 2]
        position += 2
        assert the == "the" and noun in SINGULAR_NOUNS | PLURAL_NOUNS, sentence
        logp = -math.log(2 * len(corpora.NOUNS))  # "the" has probability 1
        if depth < max_depth:
            if sentence[position] == "that":
                position += 1
                inner_logp, inner_number = noun_phrase(depth + 1)
                verb = sentence[position]
                position += 1
                assert TRANSITIVE[verb] == inner_number, sentence
                logp += math.log(p) + inner_logp - math.log(len(corpora.TRANSITIVE_VERBS))
            else:
                logp += math.log(1 - p)
        return logp, int(noun in PLURAL_NOUNS)

    logp, number = noun_phrase(0)
    assert INTRANSITIVE[sentence[position]] == number, sentence
    assert sentence[position + 1 :] == [".", SENTENCE_END], sentence  # probability 1 each
    return logp - math.log(len(corpora.INTRANSITIVE_VERBS))


@pytest.mark.parametrize("max_depth", [0, 1, 2, 3])
def test_every_generated_sentence_agrees_in_number(max_depth):
    sentences = corpora.agreement_sentences(2000, seed=3, max_depth=max_depth)
    for sentence in sentences:
        _log_probability_under_the_grammar(sentence, max_depth)
        assert sentence.count("that") <= max_depth
    assert max(s.count("that") for s in sentences) == max_depth


def test_agreement_sentences_are_deterministic_per_seed():
    assert corpora.agreement_sentences(50, seed=1) == corpora.agreement_sentences(50, seed=1)
    assert corpora.agreement_sentences(50, seed=1) != corpora.agreement_sentences(50, seed=2)
    assert corpora.default_corpus("agreement") == corpora.agreement_sentences()


@pytest.mark.parametrize("max_depth", [0, 1, 2, 3])
def test_the_stated_entropy_is_the_true_models_loss_per_token_on_a_large_sample(max_depth):
    sentences = corpora.agreement_sentences(20_000, seed=5, max_depth=max_depth)
    nll = np.array([-_log_probability_under_the_grammar(s, max_depth) for s in sentences])
    predicted = np.array([len(s) - 1 for s in sentences], dtype=float)  # SENTENCE_END included
    rate = nll.sum() / predicted.sum()
    # standard error of a ratio of means (delta method)
    standard_error = np.std(nll - rate * predicted) / np.sqrt(len(sentences)) / predicted.mean()
    assert standard_error < 0.005
    # (without clauses every sentence is as likely as any other: no sampling error)
    assert abs(rate - corpora.agreement_entropy(max_depth)) <= 4 * standard_error + 1e-12


def test_the_entropy_without_clauses_by_hand():
    # predicted: "the NOUN VERB . END", one of 8 nouns and one of 3 verbs, uniformly
    assert corpora.agreement_entropy(0) == pytest.approx((math.log(8) + math.log(3)) / 5, abs=1e-15)
    rates = [corpora.agreement_entropy(d) for d in range(5)]
    assert rates == sorted(rates) and corpora.agreement_entropy() == rates[corpora.MAX_DEPTH]


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="unknown corpus 'reddit'"):
        corpora.default_corpus("reddit")
    assert set(corpora.NAMES) == {"pydoc", "agreement"}
    for bad in (0, -3, 2.5, True):
        with pytest.raises(ValueError, match="count"):
            corpora.agreement_sentences(bad)
    for bad in (-1, 1.5):
        with pytest.raises(ValueError, match="max_depth"):
            corpora.agreement_sentences(5, max_depth=bad)
        with pytest.raises(ValueError, match="max_depth"):
            corpora.agreement_entropy(bad)
