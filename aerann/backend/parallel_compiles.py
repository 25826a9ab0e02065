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
"""

import shutil
import tempfile
from pathlib import Path

from aesara.link.c.cmodule import ModuleCache, dlimport, get_module_hash

_aesaras = ModuleCache.module_from_key


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
    folder = Path(tempfile.mkdtemp(prefix="aerann-gcc-"))
    try:
        library = build(lnk, folder)
        return _aesaras(cache, key, _Built(lnk, folder, library))
    finally:
        shutil.rmtree(folder, ignore_errors=True)


def install():
    """Make Aesara compile new C modules outside its compile lock."""
    ModuleCache.module_from_key = module_from_key
