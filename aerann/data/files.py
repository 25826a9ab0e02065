"""Safe model files: one npz holding the arrays and a JSON metadata record.

Files are written atomically (:func:`write_atomic`: a temporary file in
the same folder, flushed to disk, then a rename), so a crash never leaves a
half-written model behind; every file aerann writes goes through it.  Reading never
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
MAX_METADATA_BYTES = 64 * 2**20  # a vocabulary of millions of words fits


def _file_mode() -> int:
    """The mode a new file gets from open() under the current umask (mkstemp would give 0600)."""
    mask = os.umask(0)
    os.umask(mask)
    return 0o666 & ~mask


def publish(temporary, path) -> None:
    """Give a finished temporary file ordinary permissions and rename it to ``path`` atomically."""
    os.chmod(temporary, _file_mode())
    os.replace(temporary, path)


def write_atomic(path, write) -> Path:
    """Call ``write(temporary_path)`` for a temporary file beside ``path``, flush it to disk, then rename
    it to ``path``: readers find the old file or the whole new one, never a part.  On any error the
    temporary file is removed and the error raised."""
    path = Path(path)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(handle)
    try:
        write(Path(temporary))
        with open(temporary, "rb+") as stream:
            os.fsync(stream.fileno())
        publish(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
    return path


def write_json_atomic(path, data) -> Path:
    return write_atomic(path, lambda p: p.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8"))


def write_npz(path, arrays: dict) -> None:
    """Write ``arrays`` (name -> ndarray) as an uncompressed npz, as ``np.savez`` does, closing the archive
    whatever happens: a write that fails (a full disk) raises its error once, and nothing is left open
    for the garbage collector to finish."""
    with open(path, "wb") as stream, zipfile.ZipFile(stream, mode="w", allowZip64=True) as archive:
        for name, array in arrays.items():
            with archive.open(f"{name}.npy", mode="w", force_zip64=True) as member:
                np.lib.format.write_array(member, np.asanyarray(array), allow_pickle=False)


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
    return write_atomic(path, lambda temporary: write_npz(temporary, contents))


def array_header(archive: zipfile.ZipFile, name: str):
    """(shape, dtype) that the member ``name`` of an npz declares, read from its header alone; a ValueError
    where the header is malformed or declares more bytes than the member holds."""
    info = archive.getinfo(f"{name}.npy")
    with archive.open(info) as member:
        version = np.lib.format.read_magic(member)
        read = np.lib.format.read_array_header_1_0 if version == (1, 0) else np.lib.format.read_array_header_2_0
        shape, _, dtype = read(member)
        header = member.tell()
    if dtype.hasobject:
        raise ValueError(f"{name} holds Python objects")
    size = int(np.prod(shape, dtype=object)) * dtype.itemsize
    if size > info.file_size - header:
        raise ValueError(f"{name} declares a {dtype} array of shape {shape} ({size} bytes), "
                         f"but its entry holds {info.file_size - header} bytes")
    return tuple(shape), dtype


def load_arrays(path, check=None):
    """Read a file written by :func:`save_arrays`: ``(arrays, metadata)``.

    Before any array's data is read, every array's declared shape and dtype
    is read from its header and must fit in its entry of the archive, and
    ``check(metadata, headers)`` (headers: name -> (shape, dtype)) may refuse
    the file by raising ValueError: so a file whose headers declare huge
    arrays is refused before anything that large is allocated or
    decompressed.
    """
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
            headers = {name: array_header(contents.zip, name) for name in contents.files}
            shape, dtype = headers.pop(METADATA_KEY)
            if dtype != np.uint8 or len(shape) != 1 or shape[0] > MAX_METADATA_BYTES:
                raise ValueError(f"{path} has malformed metadata ({dtype} {shape})")
            metadata = _metadata(path, contents[METADATA_KEY])
            if check is not None:
                check(metadata, headers)
            arrays = {name: contents[name] for name in headers}
    except (OSError, zipfile.BadZipFile, EOFError, KeyError, zlib.error, MemoryError) as error:
        raise ValueError(f"{path} is not a readable model file: {error}") from None
    except ValueError as error:
        if str(path) in str(error):
            raise
        raise ValueError(f"{path} is not a readable model file: {error}") from None
    return arrays, metadata


def _metadata(path, raw):
    try:
        metadata = json.loads(raw.astype(np.uint8).tobytes().decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError, ValueError) as error:
        raise ValueError(f"{path} has corrupt metadata: {error}") from None
    if not isinstance(metadata, dict) or metadata.get("format") != FORMAT:
        raise ValueError(f"{path} is not an aerann model file")
    return metadata


def is_model_file(path) -> bool:
    """Whether ``path`` is an npz holding aerann metadata (an aerann model or checkpoint), without unpickling."""
    try:
        with np.load(path, allow_pickle=False) as contents:
            return METADATA_KEY in getattr(contents, "files", ())
    except (OSError, ValueError, zipfile.BadZipFile, EOFError):
        return False
