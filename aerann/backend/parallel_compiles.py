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
built by one gcc per core; linking then finds them built.  A function's
modules are known before any is needed, so nothing else changes.
"""

import contextlib
import os
import shutil
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import aesara
from aesara.graph.fg import FunctionGraph
from aesara.link.c.basic import CLinker, get_module_cache
from aesara.link.c.cmodule import dlimport, get_module_hash, ModuleCache
from aesara.link.vm import VMLinker

_aesaras = ModuleCache.module_from_key
_aesaras_make_all = VMLinker.make_all
_ahead = {"on": False, "built": {}}  # module key -> (folder, library file) built ahead of linking


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


def module_from_key(cache, key, lnk):
    """Aesara's ``ModuleCache.module_from_key``, with a new module compiled before the lock."""
    if not hasattr(lnk, "get_dynamic_module"):
        return _aesaras(cache, key, lnk)
    module = cache._get_from_key(key)
    if module is None:
        module = cache._get_from_hash(get_module_hash(lnk.get_src_code(), key), key)
    if module is not None:
        return module
    built = _ahead["built"].pop(key, None)
    folder, library = built if built else (Path(tempfile.mkdtemp(prefix="aerann-gcc-")), None)
    try:
        library = library or build(lnk, folder)
        return _aesaras(cache, key, _Built(lnk, folder, library))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def _missing_modules(nodes) -> dict:
    """{module key: C linker} of the nodes whose C module neither the cache nor an earlier node has."""
    cache, missing = get_module_cache(), {}
    for node in nodes:
        try:
            linker = CLinker().accept(FunctionGraph(node.inputs, node.outputs))
            key = linker.cmodule_key()
            if not key or key in missing or cache._get_from_key(key) is not None:
                continue
            if cache._get_from_hash(get_module_hash(linker.get_src_code(), key), key) is not None:
                continue
        except Exception:  # no C code (a Python op, a scan): Aesara links it its own way
            continue
        missing[key] = linker
    return missing


def build_ahead(nodes) -> list:
    """Build the missing C modules of ``nodes``, one gcc per core; returns their keys."""
    missing = _missing_modules(nodes)
    if len(missing) < 2:
        return []

    def one(item):
        key, linker = item
        folder = Path(tempfile.mkdtemp(prefix="aerann-gcc-"))
        try:
            return key, folder, build(linker, folder)
        except Exception:  # linking builds it again and reports the error where Aesara would
            shutil.rmtree(folder, ignore_errors=True)
            return None

    with ThreadPoolExecutor(min(len(missing), os.cpu_count() or 1)) as pool:
        results = [result for result in pool.map(one, missing.items()) if result]
    for key, folder, library in results:
        _ahead["built"][key] = (folder, library)
    return [key for key, _, _ in results]


def make_all(linker, *args, **kwargs):
    """Aesara's ``VMLinker.make_all``, after the function's missing modules are built side by side.

    A scan's inner function is linked while its node is, by a make_all of its own, which builds its
    own nodes' modules ahead in the same way."""
    keys = build_ahead(linker.fgraph.toposort()) if _ahead["on"] and aesara.config.cxx else []
    try:
        return _aesaras_make_all(linker, *args, **kwargs)
    finally:
        for key in keys:  # built but not used: another process stored the same module first
            folder, _ = _ahead["built"].pop(key, (None, None))
            if folder:
                shutil.rmtree(folder, ignore_errors=True)


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
