"""Sampling sentences from a trained language model."""

import numpy as np

from aerann.text import SENTENCE_END, SENTENCE_START, UNKNOWN_TOKEN


def _next_word_probabilities(model, tokens) -> np.ndarray:
    """The model's distribution over the word after ``tokens`` (RNNNumpy or RNNTheano)."""
    result = model.forward_propagation(tokens)
    probabilities = result[0] if isinstance(result, tuple) else result
    return np.asarray(probabilities[-1], dtype=np.float64)


def generate_sentence(model, vocab, min_length=0, max_length=50, rng=None) -> list[str]:
    """Sample one sentence, word by word, until SENTENCE_END or ``max_length`` words.

    UNKNOWN_TOKEN and SENTENCE_START are never sampled (their probability is
    removed and the rest renormalised), and SENTENCE_END is not allowed before
    ``min_length`` words, so the sentence is clean and the loop always ends.
    Returns the words without the start and end tokens.
    """
    if not 0 <= min_length <= max_length:
        raise ValueError(f"need 0 <= min_length <= max_length, got {min_length} and {max_length}")
    if len(vocab) != model.word_dim:
        raise ValueError(f"the vocabulary has {len(vocab)} words but the model {model.word_dim}")
    rng = np.random.default_rng(rng)
    banned = [vocab.word_to_index[w] for w in (UNKNOWN_TOKEN, SENTENCE_START) if w in vocab]
    end = vocab.end_index
    tokens = [vocab.start_index]
    while len(tokens) - 1 < max_length:
        p = _next_word_probabilities(model, tokens)
        p[banned] = 0.0
        if len(tokens) - 1 < min_length:
            p[end] = 0.0
        if p.sum() <= 0 or not np.isfinite(p.sum()):
            p = np.ones_like(p)
            p[banned] = 0.0
            p[end] = 0.0 if len(tokens) - 1 < min_length else 1.0
        word = int(rng.choice(len(p), p=p / p.sum()))
        if word == end:
            break
        tokens.append(word)
    return vocab.decode(tokens[1:])
