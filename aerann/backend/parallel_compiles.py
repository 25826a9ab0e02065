"""Processes that share Aesara's compile cache run gcc at the same time.

Aesara keeps one compile lock per cache folder (a file lock, shared by every
process using ``~/.aesara``), and its ``ModuleCache.module_from_key`` holds
it for the whole of a new C module's build: generating the source, running
gcc, importing the module and recording it.  So two processes that each
need new modules (two test workers, or a training run beside a notebook)
compile one module at a time between them, and one of the cores idles for
as long as gcc runs.

Here the module is built before the lock is taken, in a private folder of
its own: the same source, compiler, flags and libraries Aesara's
``CLinker.compile_cmodule`` would use.  Then Aesara's own
``module_from_key`` runs as before, under its lock; where it would run gcc,
it moves the built files into the cache folder it chose and imports them.
Aesara's checks under the lock are untouched: if another process stored
the same module in the meantime, that one is used and the private build is
discarded.  Only the build moves out of the lock; the cache, its keys and
every module's contents stay as Aesara makes them.

Within one process, Aesara links a new function's nodes one after another,
so their modules were built one gcc at a time, on one core.  While
:func:`compiling_ahead` is on (``aerann.backend.compiler`` turns it on while
it builds a function that is not in its cache), the linker first looks up
the module of every node of the function, and the ones the cache lacks are
built by one gcc per core; linking then finds them built.  Each module
built ahead joins the cache as soon as the pool is done, so nothing else
changes.

Two processes that need the same new module (two test workers building
similar models) would both build it, and one build would be thrown away.
So a process claims a module before building it: a file named by the
module's key in ``aerann-building`` under the cache folder, holding the
claiming host and process.  A process that finds a module claimed builds
the others it needs, and waits for that one when it links it, then loads
it from the cache.  A claim is held only while its module is built and
stored, never while waiting for another, so two processes never wait for
each other; a claim whose process is gone, or older than
:data:`CLAIM_TIMEOUT` seconds, is ignored, and a module that did not come
is built by the process that waited.
"""

import contextlib
import hashlib
import importlib
import os
import shutil
import socket
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aesara
from aesara.graph.fg import FunctionGraph
from aesara.link.c.basic import CLinker, get_module_cache
from aesara.link.c.cmodule import dlimport, get_module_hash, ModuleCache
from aesara.link.vm import VMLinker
from aesara.scan.op import Scan

from aerann.backend import python_thunks

_aesaras = ModuleCache.module_from_key
_aesaras_make_all = VMLinker.make_all
_ahead = {"on": False}
CLAIM_TIMEOUT = 600  # seconds after which a claim counts as abandoned


class _Built:
    """A C linker whose module is already compiled in ``folder``: Aesara's ``module_from_key``
    calls ``compile_cmodule(location)``, which here moves the files into ``location``."""

    def __init__(self, linker, folder: Path, library: str):
        self.linker = linker
        self.folder = folder
        self.library = library

    def get_src_code(self):
        return self.linker.get_src_code()

    def compile_cmodule(self, location):
        for built in self.folder.iterdir():
            shutil.move(str(built), location)
        (Path(location) / "__init__.py").touch()
        return dlimport(str(Path(location) / self.library))


def build(linker, folder: Path) -> str:
    """Compile ``linker``'s C module into ``folder`` without importing it, as Aesara's
    ``CLinker.compile_cmodule`` does (outside the compile lock); the library's file name."""
    module = linker.get_dynamic_module()
    compiler = linker.c_compiler()
    try:
        compiler.compile_str(
            module_name=module.code_hash,
            src_code=module.code(),
            location=str(folder),
            include_dirs=linker.header_dirs(),
            lib_dirs=linker.lib_dirs(),
            libs=linker.libraries(),
            preargs=linker.compile_args(),
            py_module=False,
        )
    except Exception as error:
        error.args += (str(linker.fgraph),)
        raise
    (library,) = [path.name for path in folder.iterdir() if path.name.startswith(module.code_hash + ".")]
    return library


def _claim_file(key) -> Path:
    name = hashlib.sha256(repr(key).encode()).hexdigest()[:40]
    return Path(aesara.config.compiledir) / "aerann-building" / name


def _claim_is_live(path: Path) -> bool:
    """Whether the claim in ``path`` belongs to a process that may still be building its module."""
    try:
        age = time.time() - path.stat().st_mtime
        text = path.read_text()
    except OSError:
        return False  # released
    if age > CLAIM_TIMEOUT:
        return False
    try:
        host, pid = text.split()
    except ValueError:
        return age < 5  # being written this instant
    if host != socket.gethostname():
        return True
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except (PermissionError, ValueError):
        pass
    return True


def claim(key) -> bool:
    """Claim the module of ``key`` for this process to build; False while another process holds it."""
    path = _claim_file(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    for _ in range(2):
        try:
            descriptor = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            if _claim_is_live(path):
                return False
            with contextlib.suppress(OSError):
                path.unlink()  # abandoned: its process is gone
            continue
        with os.fdopen(descriptor, "w") as file:
            file.write(f"{socket.gethostname()} {os.getpid()}")
        return True
    return False


def release(key) -> None:
    with contextlib.suppress(OSError):
        _claim_file(key).unlink()


def wait_for_claim(key) -> None:
    """Return once no live process holds the claim on ``key``'s module."""
    path = _claim_file(key)
    while path.exists() and _claim_is_live(path):
        time.sleep(0.05)


def _cached(cache, key, lnk):
    """The cache's module of ``key`` (found by its key, or by its source code's hash), or None."""
    module = cache._get_from_key(key)
    if module is None:
        module = cache._get_from_hash(get_module_hash(lnk.get_src_code(), key), key)
    return module


def module_from_key(cache, key, lnk):
    """Aesara's ``ModuleCache.module_from_key``, with a new module compiled before the lock, once
    among the processes that share the cache."""
    if not hasattr(lnk, "get_dynamic_module"):
        return _aesaras(cache, key, lnk)
    module = _cached(cache, key, lnk)
    if module is not None:
        return module
    claimed = claim(key)
    if not claimed:  # another process is building it
        wait_for_claim(key)
        module = _cached(cache, key, lnk)
        if module is not None:
            return module
    folder = Path(tempfile.mkdtemp(prefix="aerann-gcc-"))
    try:
        return _aesaras(cache, key, _Built(lnk, folder, build(lnk, folder)))
    finally:
        shutil.rmtree(folder, ignore_errors=True)
        if claimed:
            release(key)


def _missing_modules(nodes) -> dict:
    """{module key: C linker} of the nodes whose C module neither the cache nor an earlier node has.

    Nodes of different keys often have the same source (the key also holds what leaves the
    code alone, such as the inputs' static shapes); Aesara stores such a module once and finds
    it by its source's hash (as :func:`_cached` does), so one of them is built."""
    cache, missing, sources = get_module_cache(), {}, set()
    for node in nodes:
        try:
            linker = CLinker().accept(FunctionGraph(node.inputs, node.outputs))
            key = linker.cmodule_key()
            if not key or key in missing or cache._get_from_key(key) is not None:
                continue
            source = get_module_hash(linker.get_src_code(), key)
            if source in sources or cache._get_from_hash(source, key) is not None:
                continue
        except Exception:  # no C code (a Python op, a scan): Aesara links it its own way
            continue
        sources.add(source)
        missing[key] = linker
    return missing


def _import(module: str):
    """Import one of Aesara's compiled loops, which it builds with gcc on its first import in a cache."""
    try:
        importlib.import_module(module)
    except Exception:  # Aesara falls back to its Python loop where it imports it, and says why
        pass


def _loops_to_build(nodes) -> list:
    """Aesara's compiled loops that ``nodes`` need and this process has not imported: the VM's,
    and the scan's where there is a scan."""
    loops = ["aesara.link.c.cvm"]
    if any(isinstance(node.op, Scan) for node in nodes):
        loops.append("aesara.scan.scan_perform_ext")
    return [module for module in loops if module not in sys.modules]


def build_ahead(nodes) -> list:
    """Build the missing C modules of ``nodes`` that no other process is building, one gcc per core,
    and store them in the cache; returns their keys.

    A function also needs Aesara's compiled loops (the VM's, and the scan's), which their first
    import on a machine builds: a few seconds of gcc on one core, while the function is linked.
    Those imports run in the pool beside the modules."""
    missing = {key: linker for key, linker in _missing_modules(nodes).items() if claim(key)}
    loops = _loops_to_build(nodes)
    if len(missing) < 2 and not loops:  # one module: linking builds it just as soon
        for key in missing:
            release(key)
        return []

    def one(item):
        key, linker = item
        folder = Path(tempfile.mkdtemp(prefix="aerann-gcc-"))
        try:
            return key, linker, folder, build(linker, folder)
        except Exception:  # linking builds it again and reports the error where Aesara would
            shutil.rmtree(folder, ignore_errors=True)
            release(key)
            return None

    with ThreadPoolExecutor(max(1, min(len(missing) + len(loops), os.cpu_count() or 1))) as pool:
        for module in loops:
            pool.submit(_import, module)
        results = [result for result in pool.map(one, missing.items()) if result]
    cache, stored = get_module_cache(), []
    for key, linker, folder, library in results:
        try:
            _aesaras(cache, key, _Built(linker, folder, library))
            stored.append(key)
        except Exception:  # as above: linking tries again
            pass
        finally:
            shutil.rmtree(folder, ignore_errors=True)
            release(key)
    return stored


def make_all(linker, *args, **kwargs):
    """Aesara's ``VMLinker.make_all``, after the function's missing modules are built side by side.

    A scan's inner function is linked while its node is, by a make_all of its own, which builds its
    own nodes' modules ahead in the same way."""
    if _ahead["on"] and aesara.config.cxx:
        build_ahead([node for node in linker.fgraph.toposort() if not python_thunks.runs_in_python(node)])
    return _aesaras_make_all(linker, *args, **kwargs)


@contextlib.contextmanager
def compiling_ahead():
    """Build the C modules of the functions linked inside this block ahead, one gcc per core."""
    previous, _ahead["on"] = _ahead["on"], True
    try:
        yield
    finally:
        _ahead["on"] = previous


def install():
    """Make Aesara compile new C modules outside its compile lock, and a function's modules side by side."""
    ModuleCache.module_from_key = module_from_key
    VMLinker.make_all = make_all
