"""Offline text pipeline: tokenisers, the tutorial's vocabulary, corpus readers.

Nothing here downloads data, so ``nltk.download`` is never called.  Sentences
are split by a Punkt model trained on the text being split
(``nltk.tokenize.punkt``); words by NLTK's ``NLTKWordTokenizer``.  Neither
needs NLTK's data files.  NLTK's pretrained English Punkt model is not used
even when it is installed: the same text then gives the same tokens, and so
the same vocabulary, on every machine.

Text is split into sentences with its original capitalisation (Punkt uses it
to tell abbreviations from sentence ends) and lower-cased afterwards.  A blank
line always ends a sentence.

NLTK is imported when a text is first tokenised, not with this module: most
programs read their tokens from the token cache or a generated corpus, and
NLTK's import (with the SciPy modules it loads) was half a second of every
command's start.
"""

import collections
import csv
import functools
import io
import json
import re
from pathlib import Path

import numpy as np

from aerann.data import token_cache

SENTENCE_START = "SENTENCE_START"
SENTENCE_END = "SENTENCE_END"
UNKNOWN_TOKEN = "UNKNOWN_TOKEN"

# Punkt learns abbreviations and collocations from at most this many
# characters of the text (about 80k words): enough to learn them, and it keeps
# training under a couple of seconds however large the corpus.
TRAINING_CHARACTERS = 500_000

_BLANK_LINE = re.compile(r"\n[ \t\r\f\v]*\n")


@functools.cache
def _word_tokenizer():
    from nltk.tokenize import NLTKWordTokenizer

    return NLTKWordTokenizer()


def sentence_splitter(training_text: str) -> "nltk.tokenize.punkt.PunktSentenceTokenizer":  # noqa: F821
    """A Punkt sentence splitter trained on (the start of) ``training_text``."""
    from nltk.tokenize.punkt import PunktSentenceTokenizer

    return PunktSentenceTokenizer(training_text[:TRAINING_CHARACTERS])


def split_sentences(text: str, splitter=None) -> list[str]:
    """The sentences of ``text``; paragraphs (blank-line separated) never share one.

    ``splitter`` defaults to a Punkt model trained on ``text`` itself.
    """
    if not text.strip():
        return []
    if splitter is None:
        splitter = sentence_splitter(text)
    return [
        sentence.strip()
        for paragraph in _BLANK_LINE.split(text)
        for sentence in splitter.tokenize(paragraph)
        if sentence.strip()
    ]


def tokenize_words(sentence: str) -> list[str]:
    """Word tokens of one sentence (NLTK's Treebank-style tokenizer, no data needed)."""
    return _word_tokenizer().tokenize(sentence)


def tokenize_documents(documents, lowercase: bool = True) -> list[list[str]]:
    """Sentences of every document as token lists wrapped in SENTENCE_START ... SENTENCE_END.

    One Punkt model, trained on all the documents, splits each of them; no
    sentence spans two documents.  Sentences without words are dropped.
    A large text's tokens are kept on disk and read back the next time
    (:mod:`aerann.data.token_cache`).
    """
    documents = [d for d in documents if d and d.strip()]
    if not documents:
        return []
    return token_cache.tokenized(documents, lowercase, TRAINING_CHARACTERS,
                                 lambda kept: _tokenize_documents(kept, lowercase))


def _tokenize_documents(documents, lowercase: bool) -> list[list[str]]:
    splitter = sentence_splitter("\n\n".join(documents))
    sentences = []
    for document in documents:
        for sentence in split_sentences(document, splitter):
            words = tokenize_words(sentence.lower() if lowercase else sentence)
            if words:
                sentences.append([SENTENCE_START, *words, SENTENCE_END])
    return sentences


def tokenize(text: str, lowercase: bool = True) -> list[list[str]]:
    """Sentences of ``text`` as token lists wrapped in SENTENCE_START ... SENTENCE_END."""
    return tokenize_documents([text], lowercase=lowercase)


class Vocabulary:
    """The tutorial's vocabulary: the ``size - 1`` most common words, then UNKNOWN_TOKEN.

    Words are ranked by count, most frequent first; equal counts keep the order
    in which the words first occur in the corpus, so the same corpus always
    gives the same indices.  SENTENCE_START and SENTENCE_END are ordinary words
    ranked by their counts, but they are always kept (each sentence has one of
    each, so in practice they are among the most common anyway).  A size larger
    than the number of distinct words keeps them all.  Words outside the
    vocabulary encode to UNKNOWN_TOKEN's index, the last one.

    ``counts`` maps each kept word to its count in the corpus and
    ``distinct_words`` is the number of distinct words the corpus had.
    """

    def __init__(self, index_to_word, counts=None, distinct_words=None):
        words = list(index_to_word)
        if not all(isinstance(w, str) for w in words):
            raise ValueError("vocabulary entries must be strings")
        if len(set(words)) != len(words):
            raise ValueError("a vocabulary cannot hold the same word twice")
        if not words or words[-1] != UNKNOWN_TOKEN:
            raise ValueError("a vocabulary must end with UNKNOWN_TOKEN")
        for token in (SENTENCE_START, SENTENCE_END):
            if token not in words:
                raise ValueError(f"a vocabulary must contain {token}")
        counts = dict(counts or {})
        if counts and set(counts) != set(words[:-1]):
            raise ValueError("word counts must be given for every word but UNKNOWN_TOKEN")
        if not all(type(c) is int and c >= 0 for c in counts.values()):
            raise ValueError("word counts must be non-negative integers")
        if distinct_words is None:
            distinct_words = len(words) - 1
        if type(distinct_words) is not int or distinct_words < len(words) - 1:
            raise ValueError("distinct_words must be an integer no smaller than the number of known words")
        self.index_to_word = words
        self.word_to_index = {w: i for i, w in enumerate(words)}
        self.counts = counts
        self.distinct_words = distinct_words

    @classmethod
    def build(cls, tokenized_sentences, size: int) -> "Vocabulary":
        """Keep the ``size - 1`` most frequent words (all of them if fewer exist), then UNKNOWN_TOKEN."""
        if isinstance(size, bool) or not isinstance(size, (int, np.integer)):
            raise TypeError(f"vocabulary size must be an integer, got {type(size).__name__}")
        if size < 3:
            raise ValueError(
                "vocabulary size must be at least 3 (SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN), "
                f"got {size}"
            )
        frequencies = collections.Counter()
        for sentence in tokenized_sentences:
            if isinstance(sentence, str):
                raise TypeError(
                    "tokenized_sentences must be lists of tokens, not strings: tokenize them first"
                )
            frequencies.update(sentence)
        if not all(isinstance(word, str) for word in frequencies):
            raise TypeError("tokens must be strings")
        frequencies.pop(UNKNOWN_TOKEN, None)
        if not frequencies:
            raise ValueError("cannot build a vocabulary from an empty corpus")
        # most_common sorts stably, so equal counts stay in first-occurrence order.
        ranked = [word for word, _ in frequencies.most_common()]
        reserved = (SENTENCE_START, SENTENCE_END)
        kept = set(reserved) | set([w for w in ranked if w not in reserved][: int(size) - 3])
        words = [w for w in ranked if w in kept] + [t for t in reserved if t not in frequencies]
        return cls(
            words + [UNKNOWN_TOKEN],
            counts={w: frequencies[w] for w in words},
            # SENTENCE_START/END added for a corpus without them count as words it has
            distinct_words=len(frequencies) + sum(t not in frequencies for t in reserved),
        )

    def __len__(self) -> int:
        return len(self.index_to_word)

    def __contains__(self, word) -> bool:
        return word in self.word_to_index

    def __repr__(self) -> str:
        return f"Vocabulary({len(self)} words)"

    @property
    def unknown_index(self) -> int:
        return len(self.index_to_word) - 1

    @property
    def start_index(self) -> int:
        return self.word_to_index[SENTENCE_START]

    @property
    def end_index(self) -> int:
        return self.word_to_index[SENTENCE_END]

    def least_frequent(self) -> tuple[str, int]:
        """The lowest-ranked word kept and its count (the tutorial prints it)."""
        if not self.counts:
            raise ValueError("this vocabulary has no word counts")
        word = self.index_to_word[-2]
        return word, self.counts[word]

    def encode(self, tokens) -> np.ndarray:
        """Token indices (int32); words outside the vocabulary become UNKNOWN_TOKEN's index."""
        if isinstance(tokens, str):
            raise TypeError("encode takes a list of tokens, not a string: tokenize it first")
        unknown = self.unknown_index
        ids = []
        for token in tokens:
            if not isinstance(token, str):
                raise TypeError(f"tokens must be strings, got {token!r}")
            ids.append(self.word_to_index.get(token, unknown))
        return np.array(ids, dtype=np.int32)

    def decode(self, indices) -> list[str]:
        """Words of a one-dimensional sequence of token indices."""
        ids = np.asarray(indices)
        if ids.ndim != 1:
            raise ValueError(f"decode takes a one-dimensional sequence of indices, got shape {ids.shape}")
        if ids.size == 0:
            return []
        if ids.dtype.kind not in "iu":
            raise TypeError(f"token indices must be integers, got {ids.dtype} values")
        outside = ids[(ids < 0) | (ids >= len(self))]
        if outside.size:
            raise ValueError(f"token index {outside[0]} is outside the vocabulary of {len(self)} words")
        return [self.index_to_word[i] for i in ids.tolist()]

    def save(self, path) -> None:
        """Write the vocabulary as UTF-8 JSON."""
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
        """Read a vocabulary written by :meth:`save`; ValueError for any other file."""
        try:
            data = json.loads(Path(path).read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as error:
            raise ValueError(f"{path} is not a vocabulary file: {error}") from None
        if not isinstance(data, dict) or data.get("format") != "aerann-vocabulary":
            raise ValueError(f"{path} is not an aerann vocabulary file")
        if data.get("version") != 1:
            raise ValueError(f"{path} has an unsupported vocabulary format version {data.get('version')!r}")
        words, counts = data.get("index_to_word"), data.get("counts", {})
        if not isinstance(words, list) or not isinstance(counts, dict):
            raise ValueError(f"{path} is a malformed vocabulary file")
        try:
            return cls(words, counts=counts, distinct_words=data.get("distinct_words"))
        except ValueError as error:
            raise ValueError(f"{path} is a malformed vocabulary file: {error}") from None


def read_utf8(path) -> str:
    """The text of a UTF-8 file (a leading BOM dropped); ValueError naming the file otherwise."""
    path = Path(path)
    raw = path.read_bytes()
    if not raw.strip():
        raise ValueError(f"{path} is empty")
    if b"\x00" in raw:
        raise ValueError(f"{path} is a binary file, not UTF-8 text")
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not valid UTF-8 text (bad byte at offset {error.start})") from None


def read_text(path, lowercase: bool = True) -> list[list[str]]:
    """Tokenised sentences of a plain UTF-8 text file (see :func:`tokenize`)."""
    sentences = tokenize(read_utf8(path), lowercase=lowercase)
    if not sentences:
        raise ValueError(f"{path} contains no sentences")
    return sentences


def read_comments_csv(path, lowercase: bool = True) -> list[list[str]]:
    """Tokenised sentences of the tutorial's comments CSV: one comment per row, in column ``body``.

    Each comment is split into sentences and each sentence tokenised and
    wrapped in start/end tokens, as the tutorial does; no sentence spans two
    comments.  Fields of any length are read.
    """
    text = read_utf8(path)
    previous_limit = csv.field_size_limit()
    # No field is longer than the file; C long caps the limit on some platforms.
    csv.field_size_limit(max(previous_limit, min(len(text) + 1, 2**31 - 1)))
    try:
        rows = csv.DictReader(io.StringIO(text, newline=""), skipinitialspace=True)
        if rows.fieldnames is None or "body" not in rows.fieldnames:
            raise ValueError(f"{path} has no 'body' column (columns: {rows.fieldnames or []})")
        comments = [row["body"] or "" for row in rows]
    except csv.Error as error:
        raise ValueError(f"{path} is not a valid CSV file: {error}") from None
    finally:
        csv.field_size_limit(previous_limit)
    sentences = tokenize_documents(comments, lowercase=lowercase)
    if not sentences:
        raise ValueError(f"{path} contains no sentences")
    return sentences


def training_data(tokenized_sentences, vocab: Vocabulary):
    """The tutorial's training pairs as int32 arrays: x = sentence[:-1], y = sentence[1:].

    Sentences of fewer than two tokens have nothing to predict and are skipped.
    """
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
    X_train, y_train = [], []
    for sentence in tokenized_sentences:
        if len(sentence) < 2:
            continue
        ids = vocab.encode(sentence)
        X_train.append(ids[:-1])
        y_train.append(ids[1:])
    if not X_train:
        raise ValueError("the corpus is empty: no sentence of two or more tokens to train on")
    return X_train, y_train


def token_stream(tokenized_sentences, vocab: Vocabulary) -> np.ndarray:
    """The sentences as one stream of token indices (int32), for stream training.

    The stream begins with SENTENCE_START and each sentence follows with its
    words and its SENTENCE_END (which then marks where one sentence ends and
    the next begins, as PyTorch's word_language_model's ``<eos>`` does).
    """
    if not isinstance(vocab, Vocabulary):
        raise TypeError(f"vocab must be a Vocabulary, got {type(vocab).__name__}")
    pieces = [np.array([vocab.start_index], dtype=np.int32)]
    for sentence in tokenized_sentences:
        ids = vocab.encode(sentence)
        pieces.append(ids[1:] if len(ids) and ids[0] == vocab.start_index else ids)
    return np.concatenate(pieces)
