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
from pathlib import Path

import numpy as np

METADATA_KEY = "__metadata__"
FORMAT = "aerann-model"


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
        os.replace(temporary, path)
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
        with np.load(path, allow_pickle=False) as contents:
            if METADATA_KEY not in contents.files:
                raise ValueError(f"{path} is not an aerann model file (no metadata)")
            arrays = {name: contents[name] for name in contents.files}
    except (OSError, zipfile.BadZipFile, EOFError, KeyError) as error:
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
