"""Safe model files: one npz holding the arrays and a JSON metadata record.

Files are written atomically (a temporary file in the same folder, then a
rename), so a crash never leaves a half-written model behind.  Reading never
unpickles (``allow_pickle=False``); anything that is not a well-formed aerann
model file raises ValueError with the reason (a missing file, FileNotFoundError).
"""

import json
import os
import tempfile
import zipfile
import zlib
from pathlib import Path

import numpy as np

METADATA_KEY = "__metadata__"
FORMAT = "aerann-model"


def _file_mode() -> int:
    """The mode a new file gets from open() under the current umask (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def publish(temporary, path) -> None:
    """Give a finished temporary file ordinary permissions and rename it to ``path`` atomically."""
    os.chmod(temporary, _file_mode())
    os.replace(temporary, path)


def save_arrays(path, arrays: dict, metadata: dict) -> Path:
    """Write ``arrays`` (name -> ndarray) and ``metadata`` (JSON-serialisable) to ``path``."""
    path = Path(path)
    if METADATA_KEY in arrays:
        raise ValueError(f"{METADATA_KEY} is reserved")
    try:
        record = json.dumps({"format": FORMAT, **metadata}).encode("utf-8")
    except (TypeError, ValueError) as error:
        raise TypeError(f"model metadata must be JSON-serialisable (numbers, strings, lists, dicts): {error}") from None
    contents = {name: np.asarray(value) for name, value in arrays.items()}
    contents[METADATA_KEY] = np.frombuffer(record, dtype=np.uint8)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as stream:
            np.savez(stream, **contents)
            stream.flush()
            os.fsync(stream.fileno())
        publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def load_arrays(path):
    """Read a file written by :func:`save_arrays`: ``(arrays, metadata)``."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"no model file at {path}")
    try:
        contents = np.load(path, allow_pickle=False)
        if not isinstance(contents, np.lib.npyio.NpzFile):
            raise ValueError(f"{path} is not an aerann model file (a bare array, not an npz archive)")
        with contents:
            if METADATA_KEY not in contents.files:
                raise ValueError(f"{path} is not an aerann model file (no metadata)")
            arrays = {name: contents[name] for name in contents.files}
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, zlib.error, MemoryError) as error:
        raise ValueError(f"{path} is not a readable model file: {error}") from None
    except ValueError as error:
        if str(path) in str(error):
            raise
        raise ValueError(f"{path} is not a readable model file: {error}") from None
    raw = arrays.pop(METADATA_KEY)
    try:
        metadata = json.loads(raw.astype(np.uint8).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        raise ValueError(f"{path} has corrupt metadata: {error}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not an aerann model file")
    return arrays, metadata


def is_model_file(path) -> bool:
    """Whether ``path`` is an npz holding aerann metadata (an aerann model or checkpoint), without unpickling."""
    try:
        with np.load(path, allow_pickle=False) as contents:
            return METADATA_KEY in getattr(contents, "files", ())
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return False
