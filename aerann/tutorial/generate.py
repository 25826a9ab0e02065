"""Sampling sentences from a trained language model, as the tutorial does."""

import numbers

import numpy as np


def next_word_sampler(model):
    """A function ``token -> probabilities of the next word`` that feeds ``model`` one token per call.

    A LanguageModel (:meth:`~aerann.LanguageModel.step`), RNNTheano and
    RNNNumpy (``forward_step``) carry their states from call to call, so a
    sentence of n words costs n steps.  Any other model with the tutorial's
    ``forward_propagation(x)`` gets the whole prefix again at every call.
    """
    if hasattr(model, "step") and hasattr(model, "vocab_size"):
        states = None

        def next_word(token):
            nonlocal states
            probabilities, states = model.step([token], states)
            return np.array(probabilities[0], dtype=np.float64)

    elif hasattr(model, "forward_step"):
        state = None

        def next_word(token):
            nonlocal state
            probabilities, state = model.forward_step(token, state)
            return np.array(probabilities, dtype=np.float64)

    else:
        prefix = []

        def next_word(token):
            prefix.append(token)
            result = model.forward_propagation(prefix)
            probabilities = result[0] if isinstance(result, tuple) else result  # RNNNumpy returns (o, s)
            return np.array(probabilities[-1], dtype=np.float64)

    return next_word


def _length(value, name: str) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{name} must be an integer, got {value!r}")
    return int(value)


def generate_sentence(model, vocab, min_length=0, max_length=50, rng=None) -> list[str]:
    """Sample one sentence, word by word, until SENTENCE_END or ``max_length`` words.

    ``model`` is RNNNumpy, RNNTheano or a LanguageModel.
    Starting from SENTENCE_START, each next word is drawn from the model's
    distribution with UNKNOWN_TOKEN and SENTENCE_START removed and the rest
    renormalised (the tutorial re-draws UNKNOWN_TOKEN instead, which gives the
    same distribution but may loop for long); SENTENCE_END is also removed
    until ``min_length`` words exist.  Sampling stops at SENTENCE_END or after
    ``max_length`` words, so it always ends.  ``vocab`` needs
    ``index_to_word``, ``start_index``, ``end_index`` and ``unknown_index``
    (an aerann.data.text.Vocabulary).  ``rng`` is a seed or numpy Generator;
    None draws from the global ``np.random`` as the tutorial does, so that
    ``np.random.seed`` makes the sentence reproducible.  Returns the words, without the start and end tokens.
    """
    min_length = _length(min_length, "min_length")
    max_length = _length(max_length, "max_length")
    if not 0 <= min_length <= max_length:
        raise ValueError(f"need 0 <= min_length <= max_length, got {min_length} and {max_length}")
    size = len(vocab.index_to_word)
    model_size = getattr(model, "word_dim", None) or model.vocab_size
    if size != model_size:
        raise ValueError(f"the vocabulary has {size} words but the model {model_size}")
    start, end = vocab.start_index, vocab.end_index
    banned = [vocab.unknown_index, start]
    if min_length > 0 and len(set(range(size)) - {*banned, end}) == 0:
        raise ValueError("the vocabulary has no ordinary words to build a sentence of min_length words from")
    sampler = np.random if rng is None else np.random.default_rng(rng)
    next_word = next_word_sampler(model)
    tokens = [start]
    while len(tokens) - 1 < max_length:
        p = next_word(tokens[-1])
        allowed = np.ones(size, dtype=bool)
        allowed[banned] = False
        if len(tokens) - 1 < min_length:
            allowed[end] = False
        p = np.where(allowed & np.isfinite(p), p, 0.0)
        if not p.sum() > 0:  # the model puts no mass on any allowed word: sample them uniformly
            p = allowed.astype(np.float64)
        word = int(sampler.choice(size, p=p / p.sum()))
        if word == end:
            break
        tokens.append(word)
    return [vocab.index_to_word[i] for i in tokens[1:]]
