"""Pretrained word vectors in the word2vec / GloVe text format.

One vector per line: the word, then its numbers, separated by spaces
(``the 0.418 0.24968 -0.41242 ...``). word2vec's files begin with a header
line holding the number of vectors and their dimension (``400000 100``);
GloVe's have none.  Every line is checked before anything is used: a file
whose rows differ in length, or that holds something other than a number
where a number belongs, is refused with the line that says so.
"""

from pathlib import Path
from typing import NamedTuple

import numpy as np


class WordVectors(NamedTuple):
    """The vectors a file holds for the words asked for, and what the file held."""

    vectors: dict  # word -> float64 array (dimension,)
    dimension: int
    file_words: int  # vectors in the file


def _numbers(fields, path, number):
    try:
        return np.array(fields, dtype=np.float64)
    except ValueError:
        bad = next(f for f in fields if not _is_number(f))
        raise ValueError(f"{path}, line {number}: {bad!r} is not a number") from None


def _is_number(text):
    try:
        float(text)
    except ValueError:
        return False
    return True


def read_word_vectors(path, words=None) -> WordVectors:
    """The vectors of ``words`` (all the file's when None) in a word2vec or GloVe text file.

    A word listed twice keeps its first vector.  Raises ValueError naming the
    file and line for a row of another length, a field that is not a number,
    a non-finite number, a header that does not match the rows, or an empty
    file; the file must be UTF-8.
    """
    path = Path(path)
    wanted = None if words is None else set(words)
    vectors, dimension, declared, rows = {}, None, None, 0
    try:
        with open(path, encoding="utf-8-sig") as lines:
            for number, line in enumerate(lines, 1):
                fields = line.split()
                if not fields:
                    continue
                if number == 1 and len(fields) == 2 and all(f.isdigit() for f in fields):
                    declared, dimension = int(fields[0]), int(fields[1])
                    if dimension < 1:
                        raise ValueError(f"{path}, line 1: the header gives the dimension {dimension}")
                    continue
                if dimension is None:
                    dimension = len(fields) - 1
                    if dimension < 1:
                        raise ValueError(f"{path}, line {number}: a word with no numbers")
                if len(fields) != dimension + 1:
                    raise ValueError(f"{path}, line {number}: {len(fields) - 1} numbers where the vectors have "
                                     f"{dimension}")
                values = _numbers(fields[1:], path, number)
                if not np.all(np.isfinite(values)):
                    raise ValueError(f"{path}, line {number}: the vector of {fields[0]!r} is not finite")
                rows += 1
                word = fields[0]
                if (wanted is None or word in wanted) and word not in vectors:
                    vectors[word] = values
    except UnicodeDecodeError as error:
        raise ValueError(f"{path} is not UTF-8 text (bad byte at offset {error.start})") from None
    if rows == 0:
        raise ValueError(f"{path} holds no vectors")
    if declared is not None and declared != rows:
        raise ValueError(f"{path}: the header says {declared} vectors, the file holds {rows}")
    return WordVectors(vectors, dimension, rows)
