"""Embedded corpora: prose that ships with every Python, and a language of known entropy.

Nothing is downloaded and no data file ships with aerann.

- ``pydoc``: the help texts of the standard library (``pydoc_data.topics``,
  about 65k words), cut down to their running prose (:func:`pydoc_text`) and
  tokenised by :mod:`aerann.data.text`.
- ``agreement``: sentences of a small probabilistic grammar in which every
  verb agrees in number with its subject, and relative clauses may separate a
  subject from its verb ("the dog that the cats chase runs .").  Its entropy
  per predicted token is known exactly (:func:`agreement_entropy`): a floor
  for a language model's loss and a test of long dependencies.
"""

import functools
import math
import re

import numpy as np

from aerann.data.text import SENTENCE_END, SENTENCE_START, tokenize

NAMES = ("pydoc", "agreement")

# --- pydoc: the standard library's help texts --------------------------------------------

_HEADING_UNDERLINE = re.compile(r"^\s*([*=\-~^\"'`#+])\1{2,}\s*$", re.MULTILINE)
_STRUCTURED = re.compile(r"^\s*(\+-|\||>>>|\.\.\.|Traceback)|::=", re.MULTILINE)
_BULLET = re.compile(r"^([*\-]|\d+\.|\(\d+\))\s+")
_ADMONITION = re.compile(r"^\s*(Note|Notes|See also|Warning|Example|Examples):\s*$")
_STRONG = re.compile(r"\*\*([^*]+)\*\*")
_EMPHASIS = re.compile(r"(?<![\w*])\*([^*\s](?:[^*]*[^*\s])?)\*(?![\w*])")
_FOOTNOTE = re.compile(r"\s*\[\d+\]")
_QUOTED = re.compile(r'"[^"]*"')
_STRAIGHT_QUOTES = str.maketrans({"‘": "'", "’": "'", "“": '"', "”": '"'})
# Share of letters among the visible characters outside quotes below which a
# paragraph reads as code or a signature ("object.__repr__(self)").
MIN_LETTER_SHARE = 0.85
MIN_WORDS = 4


def _indent(line: str) -> int:
    return len(line) - len(line.lstrip())


def _text_column(block: str) -> int:
    """Column where a block's text starts, after any list bullet."""
    first = block.split("\n", 1)[0]
    bullet = _BULLET.match(first.strip())
    return _indent(first) + (bullet.end() if bullet else 0)


def _prose(block: str) -> str | None:
    """``block`` as one line of prose with its markup removed, or None when it is not prose."""
    if _HEADING_UNDERLINE.search(block) or _STRUCTURED.search(block):
        return None
    paragraph = " ".join(line.strip() for line in block.split("\n")).translate(_STRAIGHT_QUOTES)
    paragraph = _BULLET.sub("", paragraph)
    paragraph = _EMPHASIS.sub(r"\1", _STRONG.sub(r"\1", paragraph))
    paragraph = _FOOTNOTE.sub("", paragraph)
    unquoted = _QUOTED.sub(" ", paragraph)
    visible = "".join(unquoted.split())
    letters = sum(c.isalpha() for c in visible)
    if letters < MIN_LETTER_SHARE * len(visible) or len(re.findall(r"[A-Za-z]+", unquoted)) < MIN_WORDS:
        return None
    return paragraph


def prose_paragraphs(topic: str):
    """The prose paragraphs of one help topic, in order."""
    introduction = None  # the last paragraph that was not part of a literal block
    for block in re.split(r"\n\s*\n", topic):
        if not block.strip():
            continue
        if (
            introduction is not None
            and introduction.rstrip().endswith(":")
            and not _ADMONITION.match(introduction)
            and _indent(block) > _text_column(introduction)
        ):
            continue  # a literal block (code, grammar) introduced by "...:"
        introduction = block
        paragraph = _prose(block)
        if paragraph is not None:
            yield paragraph


def pydoc_text(clean: bool = True) -> str:
    """The standard library's help topics, sorted by name, paragraphs separated by blank lines.

    With ``clean`` (the default) only running prose is kept: headings,
    tables, grammar rules, doctests, literal blocks introduced by a line
    ending in ":", signatures and other paragraphs whose visible characters
    outside quotes are less than MIN_LETTER_SHARE letters, and paragraphs of
    fewer than MIN_WORDS words are dropped; list bullets, ``*emphasis*``,
    ``**strong**`` markers and footnote references like ``[1]`` are removed,
    and typographic quotes become ASCII ones (so "operand's" tokenises like
    ordinary English).  Quoted names ("None") stay.  With ``clean=False`` the topics are returned
    verbatim.
    """
    from pydoc_data.topics import topics

    if not clean:
        return "\n\n".join(topics[key] for key in sorted(topics))
    return "\n\n".join(p for key in sorted(topics) for p in prose_paragraphs(topics[key]))


@functools.lru_cache(maxsize=2)
def _pydoc_sentences(lowercase: bool) -> tuple:
    return tuple(tuple(s) for s in tokenize(pydoc_text(), lowercase=lowercase))


def pydoc_sentences(lowercase: bool = True) -> list[list[str]]:
    """Tokenised sentences of :func:`pydoc_text`, wrapped in start/end tokens (computed once)."""
    return [list(s) for s in _pydoc_sentences(lowercase)]


# --- agreement: a generated language with known entropy -------------------------------------

# (singular, plural) forms.
NOUNS = (("dog", "dogs"), ("cat", "cats"), ("bird", "birds"), ("child", "children"))
TRANSITIVE_VERBS = (("sees", "see"), ("chases", "chase"), ("likes", "like"))
INTRANSITIVE_VERBS = (("runs", "run"), ("sleeps", "sleep"), ("sings", "sing"))
RELATIVE_CLAUSE_PROBABILITY = 0.5
MAX_DEPTH = 2


def _check_depth(max_depth) -> int:
    if isinstance(max_depth, bool) or not isinstance(max_depth, (int, np.integer)) or max_depth < 0:
        raise ValueError(f"max_depth must be a non-negative integer, got {max_depth!r}")
    return int(max_depth)


def _noun_phrase(rng, depth: int, max_depth: int) -> tuple[list[str], int]:
    """Words of ``the NOUN [that NOUN_PHRASE TRANSITIVE_VERB]`` and the noun's number (0 or 1)."""
    number = int(rng.integers(2))
    words = ["the", NOUNS[int(rng.integers(len(NOUNS)))][number]]
    if depth < max_depth and rng.random() < RELATIVE_CLAUSE_PROBABILITY:
        inner_words, inner_number = _noun_phrase(rng, depth + 1, max_depth)
        verb = TRANSITIVE_VERBS[int(rng.integers(len(TRANSITIVE_VERBS)))][inner_number]
        words += ["that", *inner_words, verb]
    return words, number


def agreement_sentences(count: int = 2000, seed: int = 0, max_depth: int = MAX_DEPTH) -> list[list[str]]:
    """``count`` sentences of the agreement grammar, wrapped in start/end tokens.

    A sentence is ``NOUN_PHRASE INTRANSITIVE_VERB .`` with
    ``NOUN_PHRASE = the NOUN [that NOUN_PHRASE TRANSITIVE_VERB]``: each noun is
    singular or plural with probability 1/2 and then one of NOUNS uniformly;
    a relative clause follows with probability RELATIVE_CLAUSE_PROBABILITY
    while fewer than ``max_depth`` clauses are open; each verb is drawn
    uniformly and agrees with its own subject ("the dog that the cats that the
    bird sees chase runs .").  The same seed gives the same sentences.
    """
    if isinstance(count, bool) or not isinstance(count, (int, np.integer)) or count < 1:
        raise ValueError(f"count must be a positive integer, got {count!r}")
    max_depth = _check_depth(max_depth)
    rng = np.random.default_rng(seed)
    sentences = []
    for _ in range(count):
        words, number = _noun_phrase(rng, 0, max_depth)
        verb = INTRANSITIVE_VERBS[int(rng.integers(len(INTRANSITIVE_VERBS)))][number]
        sentences.append([SENTENCE_START, *words, verb, ".", SENTENCE_END])
    return sentences


def agreement_entropy(max_depth: int = MAX_DEPTH) -> float:
    """The agreement grammar's entropy rate, in nats per predicted token.

    A language model predicts every token after SENTENCE_START, SENTENCE_END
    included (x = sentence[:-1], y = sentence[1:]).  This is
    E[-log P(sentence)] / E[number of predicted tokens]: the value that the
    total loss divided by the number of predicted tokens (the tutorial's
    ``calculate_loss``) approaches on a large sample for the true model, and a
    floor for that of any model.  The words of a sentence determine every
    random choice made to generate it, so its entropy is the expected sum of
    the choices' entropies.
    """
    max_depth = _check_depth(max_depth)
    noun = math.log(2 * len(NOUNS))  # number, then one of the nouns
    p = RELATIVE_CLAUSE_PROBABILITY
    clause_or_not = -(p * math.log(p) + (1 - p) * math.log(1 - p))
    # Noun phrases from the innermost depth outwards: expected entropy and length.
    entropy, length = noun, 2.0  # "the NOUN", no clause allowed
    for _ in range(max_depth):
        entropy = noun + clause_or_not + p * (entropy + math.log(len(TRANSITIVE_VERBS)))
        length = 2 + p * (length + 2)  # "that" ... verb
    sentence_entropy = entropy + math.log(len(INTRANSITIVE_VERBS))
    predicted_tokens = length + 3  # verb, ".", SENTENCE_END
    return sentence_entropy / predicted_tokens


# --- by name ----------------------------------------------------------------------------------


def default_corpus(name: str = "pydoc") -> list[list[str]]:
    """Tokenised sentences of the embedded corpus ``name``, one of NAMES."""
    if name == "pydoc":
        return pydoc_sentences()
    if name == "agreement":
        return agreement_sentences()
    raise ValueError(f"unknown corpus {name!r}: choose one of {', '.join(NAMES)}")
