"""The embedded corpora ship with the install and behave as documented."""

import math

import numpy as np
import pytest

from aerann import corpora
from aerann.text import SENTENCE_END, SENTENCE_START


def test_pydoc_corpus_is_prose_from_the_standard_library():
    sentences = corpora.default_corpus("pydoc")
    words = sum(len(s) - 2 for s in sentences)
    assert len(sentences) > 1000 and 40_000 < words < 100_000
    assert all(s[0] == SENTENCE_START and s[-1] == SENTENCE_END for s in sentences)
    assert sentences == corpora.default_corpus("pydoc")
    assert not any("******" in w for s in sentences for w in s)


def test_agreement_sentences_agree_in_number():
    singular_verbs = {v[0] for v in corpora.TRANSITIVE_VERBS + corpora.INTRANSITIVE_VERBS}
    singular_nouns = {n[0] for n in corpora.NOUNS}
    for sentence in corpora.agreement_sentences(500, seed=3):
        words = sentence[1:-1]
        main_subject, main_verb = words[1], words[-2]
        assert (main_subject in singular_nouns) == (main_verb in singular_verbs)
        if "that" in words:
            assert (words[4] in singular_nouns) == (words[5] in singular_verbs)
    assert corpora.agreement_sentences(5, seed=1) == corpora.agreement_sentences(5, seed=1)


def _true_log_probability(words):
    """Log-probability of one sentence under the grammar that generated it."""
    nouns = math.log(1 / (2 * len(corpora.NOUNS)))
    p = corpora.RELATIVE_CLAUSE_PROBABILITY
    logp = nouns + math.log(len(corpora.INTRANSITIVE_VERBS) ** -1)
    if "that" in words:
        return logp + math.log(p) + nouns + math.log(1 / len(corpora.TRANSITIVE_VERBS))
    return logp + math.log(1 - p)


def test_the_stated_entropy_is_the_sample_average_loss_of_the_true_model():
    sentences = corpora.agreement_sentences(20_000, seed=5)
    nll = -sum(_true_log_probability(s[1:-1]) for s in sentences)
    predicted = sum(len(s) - 1 for s in sentences)
    assert nll / predicted == pytest.approx(corpora.agreement_entropy(), rel=0.01)


def test_unknown_corpus_names_are_refused():
    with pytest.raises(ValueError, match="unknown corpus 'reddit'"):
        corpora.default_corpus("reddit")
    assert set(corpora.NAMES) == {"pydoc", "agreement"}
    assert np.isfinite(corpora.agreement_entropy())
