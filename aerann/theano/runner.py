"""Running Theano code on aerann.theano: ``install()`` for a notebook, ``run_script`` and the command for a script.

:func:`install` puts aerann.theano into ``sys.modules`` under Theano's module
names (:data:`THEANO_MODULES`), so that ``import theano``, ``import
theano.tensor as T`` and ``from theano.tensor.nnet import softmax`` give the
shim's modules; calling it again does nothing.  A real Theano that Python
could import is never shadowed unless asked (``force=True``): install warns
and leaves ``import theano`` to find it.

:func:`run_script` runs a Python 3 script as ``python SCRIPT ARGS`` would
(``__name__ == "__main__"``, ``sys.argv == [SCRIPT, *ARGS]``, the script's
folder first on ``sys.path``) with the shim installed, and restores what it
changed afterwards: ``sys.argv``, ``sys.path`` and the ``theano`` entries of
``sys.modules`` (modules the script imported itself stay imported, as any
import does).  :func:`run_command` is the command (``python -m aerann.theano``
parses its arguments in :func:`main`, ``aerann theano`` in aerann.cli): a missing script is one line on standard error and exit
code 1; an exception in the script is shown as Python shows it (the
script's own frames, not the runner's) with exit code 1 (130 after Ctrl-C,
as Python's); ``sys.exit(n)`` in the script is exit code n.
"""

import argparse
import errno
import importlib
import os
import runpy
import sys
import traceback
import warnings
from pathlib import Path

from aerann.theano import unsupported

THEANO_MODULES = {
    "theano": "aerann.theano",
    "theano.compile": "aerann.theano.compile",
    "theano.compile.ops": "aerann.theano.compile.ops",
    "theano.gradient": "aerann.theano.gradient",
    "theano.ifelse": "aerann.theano.ifelse",
    "theano.printing": "aerann.theano.printing",
    "theano.sandbox": "aerann.theano.sandbox",
    "theano.sandbox.rng_mrg": "aerann.theano.sandbox.rng_mrg",
    "theano.scan_module": "aerann.theano.scan_module",
    "theano.tensor": "aerann.theano.tensor",
    "theano.tensor.extra_ops": "aerann.theano.tensor.extra_ops",
    "theano.tensor.nnet": "aerann.theano.tensor.nnet",
    "theano.tensor.nnet.nnet": "aerann.theano.tensor.nnet",
    "theano.tensor.shared_randomstreams": "aerann.theano.tensor.shared_randomstreams",
}
SHIM_FOLDER = Path(__file__).resolve().parent
REAL_THEANO = (
    "a Theano other than aerann's is installed ({origin}): 'import theano' is left to find it. "
    "Use aerann.theano.install(force=True) (the commands: --force) to run on aerann.theano instead."
)


def real_theano():
    """Where ``import theano`` would find a Theano other than aerann.theano (its ``__init__.py``), or None."""
    for finder in sys.meta_path:
        find_spec = getattr(finder, "find_spec", None)
        if find_spec is None:
            continue
        try:
            spec = find_spec("theano", None)
        except (ImportError, ValueError, AttributeError):
            continue
        if spec is None or spec.origin in (None, "namespace"):  # a folder named theano is no Theano
            continue
        if Path(spec.origin).resolve().parent != SHIM_FOLDER:
            return spec.origin
    return None


def _is_theano_name(name: str) -> bool:
    return name == "theano" or name.startswith("theano.")


def installed() -> bool:
    """Whether ``import theano`` gives aerann.theano in this process."""
    return sys.modules.get("theano") is sys.modules.get("aerann.theano")


def _put_modules() -> None:
    for theano_name, module_name in THEANO_MODULES.items():
        sys.modules[theano_name] = importlib.import_module(module_name)


def install(force: bool = False) -> bool:
    """Make ``import theano`` (and its submodules) give aerann.theano; True when it does after the call.

    A second call does nothing.  If a real Theano is importable, it is left
    in place with a warning, unless ``force`` is true.
    """
    if installed():
        return True
    origin = real_theano()
    if origin and not force:
        warnings.warn(REAL_THEANO.format(origin=origin), RuntimeWarning, stacklevel=2)
        return False
    _put_modules()
    return True


def _run(path: Path, args, force: bool) -> None:
    """Run the script at ``path`` with ``args``, the shim installed (unless a real Theano is and not ``force``)."""
    if path.is_dir():
        raise IsADirectoryError(errno.EISDIR, "is a folder, not a script", str(path))
    if not path.is_file():
        raise FileNotFoundError(errno.ENOENT, "no such script", str(path))
    saved_modules = {name: module for name, module in sys.modules.items() if _is_theano_name(name)}
    saved_argv, saved_path = sys.argv, list(sys.path)
    if not installed() and (force or not real_theano()):
        _put_modules()
    sys.argv = [str(path), *map(str, args)]
    sys.path.insert(0, str(path.resolve().parent))
    try:
        runpy.run_path(str(path), run_name="__main__")
    finally:
        sys.argv = saved_argv
        sys.path[:] = saved_path
        for name in [name for name in sys.modules if _is_theano_name(name) and name not in saved_modules]:
            del sys.modules[name]
        sys.modules.update(saved_modules)


def run_script(path, args=(), force: bool = False) -> None:
    """Run the Python 3 script at ``path`` with ``args`` on aerann.theano, as ``python path args`` would.

    The script's exceptions (``SystemExit`` included) reach the caller; the
    ``theano`` entries of ``sys.modules``, ``sys.argv`` and ``sys.path``
    are restored before they do.
    """
    origin = real_theano()
    if origin and not force:
        warnings.warn(REAL_THEANO.format(origin=origin), RuntimeWarning, stacklevel=2)
    _run(Path(path), args, force)


def _script_traceback(error: BaseException, path: Path) -> None:
    """Print ``error`` as Python prints an uncaught exception, from the script's first frame on."""
    note = unsupported.note_for(error) if isinstance(error, ImportError) else None
    if note:
        error.add_note(note)
    if isinstance(error, SyntaxError) and error.filename and Path(error.filename).resolve() == path.resolve():
        error.add_note("aerann.theano runs Python 3 scripts: docs/theano.md says how to convert a Python 2 one")
    script = os.path.abspath(path)
    frames = error.__traceback__
    while frames is not None and os.path.abspath(frames.tb_frame.f_code.co_filename) != script:
        frames = frames.tb_next
    traceback.print_exception(type(error), error, frames, file=sys.stderr)


def _exit_code(exit_: SystemExit) -> int:
    """The exit status of ``sys.exit(code)``, as Python's own (a message is printed and gives 1)."""
    if exit_.code is None:
        return 0
    if isinstance(exit_.code, int):
        return exit_.code
    print(exit_.code, file=sys.stderr)
    return 1


def run_command(script, args=(), force: bool = False, prog: str = "python -m aerann.theano") -> int:
    """Run ``script`` with ``args`` as the command does; returns the exit code."""
    path = Path(script)
    if not path.is_file():
        what = "is a folder, not a script" if path.is_dir() else "no such script"
        print(f"{prog}: error: {script}: {what}", file=sys.stderr)
        return 1
    origin = real_theano()
    if origin and not force:
        print(f"{prog}: note: {REAL_THEANO.format(origin=origin)}", file=sys.stderr)
    try:
        _run(path, args, force)
    except SystemExit as exit_:
        return _exit_code(exit_)
    except BaseException as error:  # the script's: shown as Python would show it
        _script_traceback(error, path)
        return 130 if isinstance(error, KeyboardInterrupt) else 1  # 130: Python's status after Ctrl-C
    return 0


def build_parser(prog: str = "python -m aerann.theano") -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog=prog,
        description="Run a Python 3 script written for Theano 1.0 on aerann: 'import theano' (and "
        "theano.tensor, theano.tensor.nnet, ...) gives aerann.theano, Theano's API over Aesara. The arguments "
        "after the script are the script's own (its sys.argv). docs/theano.md lists what is supported.",
    )
    parser.add_argument("--force", action="store_true",
                        help="use aerann.theano even when a real Theano is installed")
    parser.add_argument("command_line", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS]",
                        help="the script to run and its arguments")
    return parser


def main(argv=None) -> int:
    """``python -m aerann.theano [--force] SCRIPT [ARGS]``; returns the exit code."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
        command_line = args.command_line[1:] if args.command_line[:1] == ["--"] else args.command_line
        if not command_line:
            parser.error("the script to run is missing")
    except SystemExit as exit_:  # usage errors (2) and --help (0)
        return exit_.code if isinstance(exit_.code, int) else 2
    return run_command(command_line[0], command_line[1:], force=args.force)
