"""Embedded corpora: text that ships with every Python, and a language with known entropy.

- ``pydoc``: the help texts of the standard library (``pydoc_data.topics``,
  about 65k words of English prose).  Headings, reST underlines, indented
  blocks (code samples, grammar rules, tables) and bare call signatures are
  dropped; what is left is
  the running prose, split into sentences and tokenised by :mod:`aerann.text`.
- ``agreement``: sentences of a small probabilistic grammar in which the main
  verb agrees in number with a subject that a relative clause may separate it
  from ("the dog that the cats chase runs .").  Its entropy per predicted
  token is known exactly (:func:`agreement_entropy`), which gives a floor for
  a language model's loss and a test of long dependencies.
"""

import functools
import math
import re

import numpy as np

from aerann.text import SENTENCE_END, SENTENCE_START, tokenize

NAMES = ("pydoc", "agreement")

_HEADING_UNDERLINE = re.compile(r"^\s*([*=\-~^\"'`#+])\1{2,}\s*$")
_SIGNATURE = re.compile(r"^[\w.]+\(.*\)(\s*->.*)?$")


def pydoc_text() -> str:
    """The prose paragraphs of the standard library's help topics, one per line."""
    from pydoc_data.topics import topics

    paragraphs = []
    for key in sorted(topics):
        for block in re.split(r"\n\s*\n", topics[key]):
            lines = block.split("\n")
            if any(_HEADING_UNDERLINE.match(line) for line in lines):
                continue  # a heading and its underline
            if lines[0][:1].isspace() or any(line.rstrip().endswith("::") for line in lines):
                continue  # indented blocks: code, grammar rules, tables
            lines = [line for line in lines if not _SIGNATURE.match(line.strip())]
            paragraph = " ".join(line.strip() for line in lines)
            if len(paragraph.split()) >= 4:
                paragraphs.append(paragraph)
    return "\n".join(paragraphs)


@functools.lru_cache(maxsize=2)
def _pydoc_sentences(lowercase: bool) -> tuple:
    return tuple(tuple(s) for s in tokenize(pydoc_text(), lowercase=lowercase))


def pydoc_sentences(lowercase: bool = True) -> list[list[str]]:
    """Tokenised sentences of :func:`pydoc_text`, wrapped in start/end tokens."""
    return [list(s) for s in _pydoc_sentences(lowercase)]


# The agreement grammar: singular and plural forms of each word.
NOUNS = (("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("child", "children"))
TRANSITIVE_VERBS = (("sees", "see"), ("chases", "chase"), ("likes", "like"))
INTRANSITIVE_VERBS = (("runs", "run"), ("sleeps", "sleep"), ("sings", "sing"))
RELATIVE_CLAUSE_PROBABILITY = 0.5


def agreement_sentences(count: int = 2000, seed: int = 0) -> list[list[str]]:
    """``count`` sentences of the agreement grammar, wrapped in start/end tokens.

    Each sentence: ``the NOUN [that the NOUN' VERB'] VERB .`` where every noun
    is drawn uniformly (number, then word), the relative clause appears with
    probability 1/2, and each verb agrees with its own subject.
    """
    if count < 1:
        raise ValueError(f"count must be positive, got {count}")
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(count):
        number = int(rng.integers(2))
        words = ["the", NOUNS[rng.integers(len(NOUNS))][number]]
        if rng.random() < RELATIVE_CLAUSE_PROBABILITY:
            inner = int(rng.integers(2))
            words += ["that", "the", NOUNS[rng.integers(len(NOUNS))][inner]]
            words.append(TRANSITIVE_VERBS[rng.integers(len(TRANSITIVE_VERBS))][inner])
        words += [INTRANSITIVE_VERBS[rng.integers(len(INTRANSITIVE_VERBS))][number], "."]
        sentences.append([SENTENCE_START, *words, SENTENCE_END])
    return sentences


def agreement_entropy() -> float:
    """Entropy of the agreement grammar in nats per predicted token.

    A language model predicts every token after SENTENCE_START, SENTENCE_END
    included.  The sentence determines every random choice, so its entropy is
    the sum of the choices' entropies; dividing by the expected number of
    predicted tokens gives the rate that the average per-token loss over a
    large sample approaches from above.
    """
    noun = math.log(2 * len(NOUNS))  # number, then one of the nouns
    p = RELATIVE_CLAUSE_PROBABILITY
    clause_choice = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    clause = noun + math.log(len(TRANSITIVE_VERBS))
    sentence_entropy = noun + clause_choice + p * clause + math.log(len(INTRANSITIVE_VERBS))
    # the NOUN VERB . END, plus "that the NOUN VERB" when there is a clause
    predicted_tokens = 5 + 4 * p
    return sentence_entropy / predicted_tokens


def default_corpus(name: str = "pydoc") -> list[list[str]]:
    """Tokenised sentences of the embedded corpus ``name`` (one of :data:`NAMES`)."""
    if name == "pydoc":
        return pydoc_sentences()
    if name == "agreement":
        return agreement_sentences()
    raise ValueError(f"unknown corpus {name!r}: choose one of {', '.join(NAMES)}")
