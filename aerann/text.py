"""Offline text pipeline: tokenisers, the tutorial's vocabulary, corpus readers.

Nothing here downloads data.  Sentences are split by a Punkt model trained on
the text itself (``nltk.tokenize.punkt``) and words by NLTK's
``NLTKWordTokenizer``; neither needs NLTK's downloadable data, so
``nltk.download`` is never called.
"""

import collections
import csv
import io
import json
from pathlib import Path

import numpy as np
from nltk.tokenize import NLTKWordTokenizer
from nltk.tokenize.punkt import PunktSentenceTokenizer

SENTENCE_START = "SENTENCE_START"
SENTENCE_END = "SENTENCE_END"
UNKNOWN_TOKEN = "UNKNOWN_TOKEN"
SPECIAL_TOKENS = (SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN)

_WORDS = NLTKWordTokenizer()

# NLTK guards its regular expressions with a time limit, which a single
# multi-megabyte line exceeds: text is cut into blocks of about this many
# characters (at a line break or space) before it is split into sentences,
# and Punkt learns its abbreviations from the first TRAINING_CHARACTERS.
BLOCK_CHARACTERS = 20_000
TRAINING_CHARACTERS = 1_000_000


def _blocks(text: str):
    """``text`` in pieces of at most about BLOCK_CHARACTERS, cut at whitespace."""
    start = 0
    while start < len(text):
        end = start + BLOCK_CHARACTERS
        if end < len(text):
            cut = max(text.rfind("\n", start, end), text.rfind(" ", start, end))
            end = cut + 1 if cut > start else end
        yield text[start:end]
        start = end


def split_sentences(text: str) -> list[str]:
    """Split ``text`` into sentences with a Punkt model trained on ``text`` itself.

    A sentence longer than BLOCK_CHARACTERS is cut into pieces.
    """
    if not text.strip():
        return []
    punkt = PunktSentenceTokenizer(text[:TRAINING_CHARACTERS])
    return [s.strip() for block in _blocks(text) for s in punkt.tokenize(block) if s.strip()]


def tokenize_words(sentence: str) -> list[str]:
    """Split one sentence into word tokens (NLTK's Treebank-style word tokenizer)."""
    return _WORDS.tokenize(sentence)


def tokenize(text: str, lowercase: bool = True) -> list[list[str]]:
    """Sentences of ``text`` as token lists wrapped in SENTENCE_START ... SENTENCE_END."""
    if lowercase:
        text = text.lower()
    return [
        [SENTENCE_START, *words, SENTENCE_END]
        for words in map(tokenize_words, split_sentences(text))
        if words
    ]


class Vocabulary:
    """The tutorial's vocabulary: the ``size - 1`` most common words, then UNKNOWN_TOKEN.

    Ties in frequency are broken by first occurrence in the corpus, so the same
    corpus always gives the same indices.  SENTENCE_START and SENTENCE_END are
    ordinary words of the corpus (every sentence has both, so they are always
    among the most common).  Words outside the vocabulary encode to
    UNKNOWN_TOKEN's index, the last one.
    """

    def __init__(self, index_to_word, counts=None, distinct_words=None):
        words = list(index_to_word)
        if len(words) < 2 or words[-1] != UNKNOWN_TOKEN:
            raise ValueError("a vocabulary needs at least one word followed by UNKNOWN_TOKEN as the last entry")
        if len(set(words)) != len(words):
            raise ValueError("a vocabulary cannot hold the same word twice")
        if not all(isinstance(w, str) for w in words):
            raise ValueError("vocabulary entries must be strings")
        self.index_to_word = words
        self.word_to_index = {w: i for i, w in enumerate(words)}
        self.counts = dict(counts or {})
        self.distinct_words = distinct_words if distinct_words is not None else len(words) - 1

    @classmethod
    def build(cls, tokenized_sentences, size: int) -> "Vocabulary":
        """Keep the ``size - 1`` most frequent words (all of them if fewer exist)."""
        if not isinstance(size, (int, np.integer)) or isinstance(size, bool):
            raise TypeError(f"vocabulary size must be an integer, got {type(size).__name__}")
        if size < 3:
            raise ValueError(f"vocabulary size must be at least 3, got {size}")
        frequencies = collections.Counter()
        for sentence in tokenized_sentences:
            frequencies.update(sentence)
        frequencies.pop(UNKNOWN_TOKEN, None)
        if not frequencies:
            raise ValueError("cannot build a vocabulary from an empty corpus")
        # Counter.most_common is stable: equal counts keep first-occurrence order.
        kept = frequencies.most_common(size - 1)
        return cls(
            [w for w, _ in kept] + [UNKNOWN_TOKEN],
            counts=dict(kept),
            distinct_words=len(frequencies),
        )

    def __len__(self) -> int:
        return len(self.index_to_word)

    def __contains__(self, word) -> bool:
        return word in self.word_to_index

    @property
    def unknown_index(self) -> int:
        return len(self.index_to_word) - 1

    @property
    def start_index(self) -> int:
        return self._index_of(SENTENCE_START)

    @property
    def end_index(self) -> int:
        return self._index_of(SENTENCE_END)

    def _index_of(self, word: str) -> int:
        if word not in self.word_to_index:
            raise ValueError(f"the vocabulary has no {word} token")
        return self.word_to_index[word]

    def least_frequent(self) -> tuple[str, int]:
        """The least frequent word kept and its count (the tutorial prints it)."""
        if not self.counts:
            raise ValueError("this vocabulary has no word counts")
        word = self.index_to_word[-2]
        return word, self.counts[word]

    def encode(self, tokens) -> np.ndarray:
        """Token indices (int32); words outside the vocabulary become UNKNOWN_TOKEN."""
        if isinstance(tokens, str):
            raise TypeError("encode takes a list of tokens, not a string: tokenize it first")
        unknown = self.unknown_index
        return np.array([self.word_to_index.get(t, unknown) for t in tokens], dtype=np.int32)

    def decode(self, indices) -> list[str]:
        """Words of the token indices ``indices``."""
        size = len(self)
        words = []
        for i in indices:
            if isinstance(i, (bool, np.bool_)) or not isinstance(i, (int, np.integer)):
                raise TypeError(f"token indices must be integers, got {i!r}")
            if not 0 <= i < size:
                raise ValueError(f"token index {i} is outside the vocabulary of {size} words")
            words.append(self.index_to_word[i])
        return words

    def save(self, path) -> None:
        """Write the vocabulary as JSON."""
        data = {
            "format": "aerann-vocabulary",
            "version": 1,
            "index_to_word": self.index_to_word,
            "counts": self.counts,
            "distinct_words": self.distinct_words,
        }
        Path(path).write_text(json.dumps(data, ensure_ascii=False), encoding="utf-8")

    @classmethod
    def load(cls, path) -> "Vocabulary":
        """Read a vocabulary written by :meth:`save`; ValueError for anything else."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not a vocabulary file: {error}") from None
        if not isinstance(data, dict) or data.get("format") != "aerann-vocabulary":
            raise ValueError(f"{path} is not an aerann vocabulary file")
        counts = data.get("counts", {})
        if not isinstance(counts, dict) or not all(isinstance(c, int) for c in counts.values()):
            raise ValueError(f"{path} has malformed word counts")
        return cls(data.get("index_to_word", []), counts=counts, distinct_words=data.get("distinct_words"))


def _read_utf8(path) -> str:
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError(f"{path} is empty")
    if b"\x00" in raw:
        raise ValueError(f"{path} is a binary file, not text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not valid UTF-8 text (byte {error.start})") from None


def read_text(path, lowercase: bool = True) -> list[list[str]]:
    """Tokenised sentences of a plain UTF-8 text file."""
    sentences = tokenize(_read_utf8(path), lowercase=lowercase)
    if not sentences:
        raise ValueError(f"{path} contains no sentences")
    return sentences


def read_comments_csv(path, lowercase: bool = True) -> list[list[str]]:
    """Tokenised sentences of the tutorial's comments CSV (one comment per row, column ``body``)."""
    text = _read_utf8(path)
    csv.field_size_limit(max(csv.field_size_limit(), len(text) + 1))
    rows = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
    if rows.fieldnames is None or "body" not in rows.fieldnames:
        raise ValueError(f"{path} has no 'body' column (columns: {rows.fieldnames or []})")
    try:
        comments = [row["body"] or "" for row in rows]
    except csv.Error as error:
        raise ValueError(f"{path} is not a valid CSV file: {error}") from None
    sentences = [s for comment in comments for s in tokenize(comment, lowercase=lowercase)]
    if not sentences:
        raise ValueError(f"{path} contains no sentences")
    return sentences


def training_data(tokenized_sentences, vocab: Vocabulary):
    """The tutorial's training pairs: x = sentence[:-1], y = sentence[1:], as int32 arrays.

    Sentences of fewer than two tokens have nothing to predict and are skipped.
    """
    X_train, y_train = [], []
    for sentence in tokenized_sentences:
        if len(sentence) < 2:
            continue
        ids = vocab.encode(sentence)
        X_train.append(ids[:-1])
        y_train.append(ids[1:])
    if not X_train:
        raise ValueError("the corpus has no sentence of two or more tokens to train on")
    return X_train, y_train
