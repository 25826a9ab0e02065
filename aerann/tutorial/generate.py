"""Sentences from a trained language model: sampling as the tutorial does, with the usual controls, and beam search.

:func:`generate_sentence` draws each next word from the model's
distribution, reshaped by the controls every sampler offers:

- ``temperature`` T: p_T(w) proportional to p(w)^(1/T) (the softmax of the
  logits divided by T), flatter above 1, sharper below, the likeliest word
  alone as T goes to 0;
- ``top_k`` k: only the k likeliest words stay (Fan et al. 2018);
- ``top_p`` p: nucleus sampling, only the smallest set of likeliest words
  whose probabilities add up to at least p stays (Holtzman et al. 2020);
- ``prime``: the sentence begins with these words, fed to the model first.

They are applied in that order, after the words a sentence may not contain
are removed, and the rest is renormalised.  :func:`beam_search` keeps the
``beam_width`` likeliest partial sentences at every step instead.  Both
carry the model's states from word to word (:func:`next_word_sampler`), so a
sentence of n words costs n steps (a beam of width b, n batched steps).
:func:`generate_characters` samples a character-level model, whose tokens
are characters and whose text has no sentences, with the same controls.
"""

import math
import numbers
import warnings

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


def check_sampling(temperature=1.0, top_k=None, top_p=None) -> tuple:
    """The checked sampling controls, or a ValueError / TypeError naming the bad one."""
    if isinstance(temperature, bool) or not isinstance(temperature, numbers.Real) or not math.isfinite(temperature):
        raise TypeError(f"temperature must be a finite number, got {temperature!r}")
    if temperature <= 0:
        raise ValueError(f"temperature must be positive, got {temperature:g}")
    if top_k is not None:
        top_k = _length(top_k, "top_k")
        if top_k < 1:
            raise ValueError(f"top_k must be at least 1, got {top_k}")
    if top_p is not None:
        if isinstance(top_p, bool) or not isinstance(top_p, numbers.Real) or not 0 < top_p <= 1:
            raise ValueError(f"top_p must be in (0, 1], got {top_p!r}")
        top_p = float(top_p)
    return float(temperature), top_k, top_p


def reshape_distribution(p, temperature=1.0, top_k=None, top_p=None) -> np.ndarray:
    """``p`` (non-negative, summing to 1) after temperature, top-k and top-p, renormalised.

    With the defaults ``p`` comes back unchanged.  Ties at the top-k cut are
    kept in the order of their indices.
    """
    p = np.asarray(p, dtype=np.float64)
    if temperature != 1.0:
        with np.errstate(divide="ignore"):
            logits = np.log(p) / temperature
        logits -= logits[np.isfinite(logits)].max()  # the likeliest word gets exp(0) = 1: no underflow to all zeros
        p = np.exp(logits)
        p /= p.sum()
    if top_k is not None and top_k < np.count_nonzero(p):
        kept = np.argsort(-p, kind="stable")[:top_k]
        p = np.where(np.isin(np.arange(len(p)), kept), p, 0.0)
        p /= p.sum()
    if top_p is not None and top_p < 1.0:  # 1 keeps every word: p as it is
        order = np.argsort(-p, kind="stable")
        mass = np.cumsum(p[order])
        count = int(np.searchsorted(mass, top_p * mass[-1] * (1 - 1e-12))) + 1  # the nucleus
        p = np.where(np.isin(np.arange(len(p)), order[:count]), p, 0.0)
        p /= p.sum()
    return p


def prime_indices(vocab, prime, lowercase=True) -> tuple:
    """(token indices, words outside the vocabulary) of a priming prefix.

    ``prime`` is a list of words, or a string tokenised as the training text
    is (Treebank words, lowercased unless ``lowercase`` is False).  Words
    outside the vocabulary become UNKNOWN_TOKEN.
    """
    if prime is None:
        return [], []
    if isinstance(prime, str):
        from aerann.data.text import tokenize_words

        words = tokenize_words(prime.lower() if lowercase else prime)
    elif isinstance(prime, (list, tuple)) and all(isinstance(w, str) for w in prime):
        words = list(prime)
    else:
        raise TypeError(f"prime must be a string or a list of words, got {prime!r}")
    unknown = [w for w in words if w not in vocab.word_to_index]
    return [vocab.word_to_index.get(w, vocab.unknown_index) for w in words], unknown


def _primed(vocab, prime):
    indices, unknown = prime_indices(vocab, prime)
    if unknown:
        warnings.warn(f"note: the prime's words {', '.join(map(repr, unknown))} are not in the vocabulary: "
                      "they are read as UNKNOWN_TOKEN", stacklevel=3)
    return indices


def _check_model_and_vocab(model, vocab) -> int:
    size = len(vocab.index_to_word)
    model_size = getattr(model, "word_dim", None) or model.vocab_size
    if size != model_size:
        raise ValueError(f"the vocabulary has {size} words but the model {model_size}")
    return size


def generate_sentence(model, vocab, min_length=0, max_length=50, rng=None, temperature=1.0, top_k=None,
                      top_p=None, prime=None) -> list[str]:
    """Sample one sentence, word by word, until SENTENCE_END or ``max_length`` words.

    ``model`` is RNNNumpy, RNNTheano or a LanguageModel.
    Starting from SENTENCE_START (and the ``prime`` words, which the sentence
    then begins with), each next word is drawn from the model's
    distribution with UNKNOWN_TOKEN and SENTENCE_START removed and the rest
    renormalised (the tutorial re-draws UNKNOWN_TOKEN instead, which gives the
    same distribution but may loop for long); SENTENCE_END is also removed
    until ``min_length`` words exist.  ``temperature``, ``top_k`` and
    ``top_p`` reshape that distribution (see the module's docs; the defaults
    leave it as it is).  Sampling stops at SENTENCE_END or after
    ``max_length`` words, so it always ends.  ``vocab`` needs
    ``index_to_word``, ``word_to_index``, ``start_index``, ``end_index`` and ``unknown_index``
    (an aerann.data.text.Vocabulary).  ``rng`` is a seed or numpy Generator;
    None draws from the global ``np.random`` as the tutorial does, so that
    ``np.random.seed`` makes the sentence reproducible.  Returns the words, without the start and end tokens.
    """
    min_length = _length(min_length, "min_length")
    max_length = _length(max_length, "max_length")
    if not 0 <= min_length <= max_length:
        raise ValueError(f"need 0 <= min_length <= max_length, got {min_length} and {max_length}")
    temperature, top_k, top_p = check_sampling(temperature, top_k, top_p)
    size = _check_model_and_vocab(model, vocab)
    start, end = vocab.start_index, vocab.end_index
    banned = [vocab.unknown_index, start]
    if min_length > 0 and len(set(range(size)) - {*banned, end}) == 0:
        raise ValueError("the vocabulary has no ordinary words to build a sentence of min_length words from")
    sampler = np.random if rng is None else np.random.default_rng(rng)
    next_word = next_word_sampler(model)
    tokens = [start]
    for token in _primed(vocab, prime):
        next_word(tokens[-1])
        tokens.append(token)
    while len(tokens) - 1 < max_length:
        p = next_word(tokens[-1])
        allowed = np.ones(size, dtype=bool)
        allowed[banned] = False
        if len(tokens) - 1 < min_length:
            allowed[end] = False
        p = np.where(allowed & np.isfinite(p), p, 0.0)
        if not p.sum() > 0:  # the model puts no mass on any allowed word: sample them uniformly
            p = allowed.astype(np.float64)
        p = reshape_distribution(p / p.sum(), temperature, top_k, top_p)
        word = int(sampler.choice(size, p=p))
        if word == end:
            break
        tokens.append(word)
    return [vocab.index_to_word[i] for i in tokens[1:]]


def _beam_stepper(model):
    """``(step, select)`` for B sequences at once: ``step(tokens, states) -> (log-probabilities (B, V),
    states)`` feeds one token to each (``states`` None at the start, else what the last step returned,
    narrowed by ``select(states, rows)`` to the sequences kept)."""
    def log(probabilities):
        with np.errstate(divide="ignore"):
            return np.log(np.asarray(probabilities, dtype=np.float64))

    if hasattr(model, "step") and hasattr(model, "vocab_size"):  # a LanguageModel: one batched step
        def step(tokens, states):
            probabilities, new = model.step(list(tokens), states)
            return log(probabilities), new

        def select(states, rows):
            return [[np.asarray(state)[rows] for state in layer] for layer in states]

    elif hasattr(model, "forward_step"):  # RNNTheano, RNNNumpy: one state per sequence
        def step(tokens, states):
            states = [None] * len(tokens) if states is None else states
            results = [model.forward_step(int(t), s) for t, s in zip(tokens, states)]
            return log([o for o, _ in results]), [s for _, s in results]

        def select(states, rows):
            return [states[r] for r in rows]

    else:  # only forward_propagation: each sequence's whole prefix again
        def step(tokens, states):
            prefixes = [[*prefix, int(t)] for prefix, t in zip(states or [[] for _ in tokens], tokens)]
            rows = []
            for prefix in prefixes:
                result = model.forward_propagation(prefix)
                rows.append((result[0] if isinstance(result, tuple) else result)[-1])
            return log(rows), prefixes

        def select(states, rows):
            return [states[r] for r in rows]

    return step, select


def beam_search(model, vocab, prime=None, beam_width=5, max_length=50, length_penalty=1.0, min_length=0) -> list:
    """The likeliest sentences by beam search: ``[(words, log_probability), ...]``, best first.

    Every step extends each of the ``beam_width`` best partial sentences by
    every allowed word (UNKNOWN_TOKEN and SENTENCE_START never, SENTENCE_END
    once ``min_length`` words exist) and keeps the ``beam_width`` best; a
    sentence is finished at SENTENCE_END (whose probability counts) or at
    ``max_length`` words.  Sentences are ranked by log-probability divided by
    (number of words + 1) ** ``length_penalty`` (the +1 counts SENTENCE_END;
    0 ranks by log-probability alone, which favours short sentences).  The
    log-probability returned is the plain one, of the words after the
    ``prime`` words given SENTENCE_START and the prime.
    """
    beam_width = _length(beam_width, "beam_width")
    if beam_width < 1:
        raise ValueError(f"beam_width must be at least 1, got {beam_width}")
    max_length, min_length = _length(max_length, "max_length"), _length(min_length, "min_length")
    if not 0 <= min_length <= max_length or max_length < 1:
        raise ValueError(f"need 0 <= min_length <= max_length and max_length >= 1, got {min_length} and {max_length}")
    if isinstance(length_penalty, bool) or not isinstance(length_penalty, numbers.Real) or \
            not math.isfinite(length_penalty):
        raise TypeError(f"length_penalty must be a finite number, got {length_penalty!r}")
    size = _check_model_and_vocab(model, vocab)
    start, end = vocab.start_index, vocab.end_index
    step, select = _beam_stepper(model)
    prefix = [start, *_primed(vocab, prime)]
    log_p, states = step(prefix[:1], None)
    for token in prefix[1:]:
        log_p, states = step([token], states)
    beams = [(prefix, 0.0)]  # tokens so far, log-probability of the words after the prefix
    finished = []

    def score(tokens, logp, ended):
        words = len(tokens) - 1 + (1 if ended else 0)
        return logp / max(words, 1) ** length_penalty

    while beams:
        candidates = []
        for row, (tokens, logp) in enumerate(beams):
            allowed = np.ones(size, dtype=bool)
            allowed[[vocab.unknown_index, start]] = False
            if len(tokens) - 1 < min_length:
                allowed[end] = False
            for word in np.flatnonzero(allowed & np.isfinite(log_p[row])):
                candidates.append((logp + log_p[row, word], row, int(word)))
        candidates.sort(key=lambda c: -c[0])
        alive, rows = [], []
        for total, row, word in candidates:
            tokens = beams[row][0]
            if word == end:
                finished.append((tokens, total, True))
            elif len(tokens) >= max_length:  # with this word, max_length words: finished without SENTENCE_END
                finished.append((tokens + [word], total, False))
            else:
                alive.append((tokens + [word], total))
                rows.append(row)
            if len(alive) == beam_width:
                break
        finished.sort(key=lambda f: -score(*f))
        finished = finished[:beam_width]
        if not alive:
            break
        if length_penalty == 0 and len(finished) == beam_width and score(*finished[-1]) >= alive[0][1]:
            break  # without a length penalty a longer sentence only scores lower
        log_p, states = step([t[-1] for t, _ in alive], select(states, rows))
        beams = alive
    finished.sort(key=lambda f: -score(*f))
    return [([vocab.index_to_word[i] for i in tokens[1:]], float(logp)) for tokens, logp, _ in finished[:beam_width]]


def generate_characters(model, characters, length=200, prime=None, rng=None, temperature=1.0, top_k=None,
                        top_p=None) -> str:
    """``prime`` and ``length`` characters sampled after it from a character-level language model.

    ``characters`` lists the model's tokens, one character each, in the
    order of its indices (what examples/char_rnn.py saves with its model).
    The model is fed ``prime`` (by default the first character of
    ``characters``, or a newline when there is one) and then each character
    it draws, its states carried; ``temperature``, ``top_k`` and ``top_p``
    reshape every distribution as for :func:`generate_sentence`.  ``rng`` is
    a seed or numpy Generator.
    """
    length = _length(length, "length")
    temperature, top_k, top_p = check_sampling(temperature, top_k, top_p)
    characters = list(characters)
    if not characters or not all(isinstance(c, str) and len(c) == 1 for c in characters):
        raise ValueError("characters must list one character per token of the model")
    size = len(characters)
    if size != model.vocab_size:
        raise ValueError(f"{size} characters are given but the model has {model.vocab_size} tokens")
    index = {c: i for i, c in enumerate(characters)}
    if prime is None:
        prime = "\n" if "\n" in index else characters[0]
    if not isinstance(prime, str) or not prime:
        raise ValueError(f"prime must be a non-empty string, got {prime!r}")
    unknown = sorted(set(prime) - set(index))
    if unknown:
        raise ValueError(f"the prime holds characters the model does not know: {''.join(unknown)!r}")
    sampler = np.random.default_rng(rng)
    next_character = next_word_sampler(model)
    for c in prime[:-1]:
        next_character(index[c])
    token, drawn = index[prime[-1]], []
    for _ in range(length):
        p = next_character(token)
        p = np.where(np.isfinite(p), p, 0.0)
        p = reshape_distribution(p / p.sum(), temperature, top_k, top_p)
        token = int(sampler.choice(size, p=p))
        drawn.append(characters[token])
    return prime + "".join(drawn)
