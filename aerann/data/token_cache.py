"""Tokenised texts kept on disk: a corpus tokenised once is read back, not tokenised again.

Tokenising is slow next to everything else a short run does: Punkt is
trained on the text, then NLTK's word tokenizer applies its regular
expressions to every sentence, all in pure Python, so the cost grows with
every character.  A program that trains, then evaluates or generates on the
same corpus (or an example run twice) would pay it each time.

An entry holds the result of :func:`aerann.data.text.tokenize_documents` for
one list of documents: the distinct tokens, in order of first appearance,
and the sentences as indices into them.  Its key is a SHA-256 of the
documents themselves, whether they are lower-cased, the amount of text
Punkt trains on, and the versions of aerann and NLTK, so a changed text or
tokenizer never reads a stale entry.  Texts shorter than
:data:`MIN_CHARACTERS` tokenise faster than an entry is read and are not
kept.

Entries are model-style npz files (:mod:`aerann.data.files`: written atomically,
read without unpickling) in ``aerann-tokens`` under Aesara's base compile
directory (``~/.aesara``), beside the compiled functions; deleting the
folder empties it, and ``AERANN_TOKEN_CACHE=0`` turns it off.  An entry
that cannot be read is removed and the text tokenised again; a failure to
write one only logs.
"""

import hashlib
import importlib.metadata
import logging
import os
from pathlib import Path

import aesara
import numpy as np

import aerann
from aerann.data import files

_log = logging.getLogger(__name__)
FORMAT = 1  # of an entry; part of every key
KIND = "aerann-tokens"
MIN_CHARACTERS = 20_000  # in all documents together


def enabled() -> bool:
    return os.environ.get("AERANN_TOKEN_CACHE", "1").strip().lower() not in ("0", "off", "false", "no")


def directory() -> Path:
    return Path(aesara.config.base_compiledir) / "aerann-tokens"


def key(documents, lowercase: bool, training_characters: int) -> str:
    """The entry's name for ``documents``: a hash of their text and of every setting that shapes the tokens."""
    # NLTK's version from its metadata: importing NLTK is what a cached text saves
    nltk_version = importlib.metadata.version("nltk")
    digest = hashlib.sha256(repr((FORMAT, aerann.__version__, nltk_version, bool(lowercase),
                                  training_characters, len(documents))).encode())
    for document in documents:
        data = document.encode("utf-8", "surrogatepass")
        digest.update(len(data).to_bytes(8, "little"))
        digest.update(data)
    return digest.hexdigest()


def tokenized(documents, lowercase: bool, training_characters: int, tokenize):
    """``tokenize(documents)``, read from the entry for them when there is one, and kept when it was not."""
    if not enabled() or sum(len(d) for d in documents) < MIN_CHARACTERS:
        return tokenize(documents)
    path = directory() / f"{key(documents, lowercase, training_characters)}.npz"
    sentences = load(path)
    if sentences is None:
        sentences = tokenize(documents)
        store(path, sentences)
    return sentences


def load(path: Path):
    """The sentences kept at ``path``; None when there is no entry or it is unreadable (then it is removed)."""
    if not path.is_file():
        return None
    try:
        arrays, metadata = files.load_arrays(path)
        if metadata.get("kind") != KIND:
            raise ValueError("not a token file")
        words = np.array(metadata["words"], dtype=object)
        tokens = words[arrays["indices"]].tolist()
        ends = np.cumsum(arrays["lengths"]).tolist()
    except (ValueError, KeyError, IndexError, TypeError) as error:
        _log.warning("aerann: removing the unreadable token file %s (%s)", path, error)
        path.unlink(missing_ok=True)
        return None
    if ends and ends[-1] != len(tokens):
        _log.warning("aerann: removing the token file %s (its sentence lengths do not add up)", path)
        path.unlink(missing_ok=True)
        return None
    return [tokens[start:end] for start, end in zip([0, *ends[:-1]], ends)]


def store(path: Path, sentences) -> bool:
    """Keep ``sentences`` at ``path``; False (and a debug log) where it cannot be written."""
    index = {}
    indices = np.fromiter((index.setdefault(token, len(index)) for sentence in sentences for token in sentence),
                          dtype=np.int32)
    lengths = np.array([len(sentence) for sentence in sentences], dtype=np.int64)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        files.save_arrays(path, {"indices": indices, "lengths": lengths}, {"kind": KIND, "words": list(index)})
        return True
    except OSError as error:
        _log.debug("not keeping the tokens of %s: %s", path.name, error)
        return False
