"""The module names of aerann's first, flat layout, still importable: ``aerann.run`` is ``aerann.training.run``.

aerann's modules were once all in ``aerann/``; they now sit in subpackages
that show the architecture (docs/architecture.md).  Code written against the
flat names keeps working: ``import aerann.run``, ``from aerann import io``
and ``aerann.optim`` all give the module at its new place (the very same
module object, so its state and classes are shared), found by a finder on
``sys.meta_path`` that knows only the names in :data:`MOVED`.
"""

import importlib
import importlib.abc
import importlib.util
import sys

MOVED = {
    "aesara_setup": "aerann.backend.aesara_setup",
    "broadcast_shapes": "aerann.backend.broadcast_shapes",
    "compile": "aerann.backend.compiler",
    "composite_pickles": "aerann.backend.composite_pickles",
    "crossentropy": "aerann.backend.crossentropy",
    "function_cache": "aerann.backend.function_cache",
    "jax_ops": "aerann.backend.jax_ops",
    "jax_scan": "aerann.backend.jax_scan",
    "march_flags": "aerann.backend.march_flags",
    "memory": "aerann.backend.memory",
    "parallel_compiles": "aerann.backend.parallel_compiles",
    "parameters": "aerann.backend.parameters",
    "precompiled_headers": "aerann.backend.precompiled_headers",
    "static_shapes": "aerann.backend.static_shapes",
    "corpora": "aerann.data.corpora",
    "io": "aerann.data.files",
    "text": "aerann.data.text",
    "token_cache": "aerann.data.token_cache",
    "validation": "aerann.data.validation",
    "batching": "aerann.data.batching",
    "engine": "aerann.training.engine",
    "optim": "aerann.training.optim",
    "run": "aerann.training.run",
    "schedules": "aerann.training.schedules",
    "training_settings": "aerann.training.settings",
    "demo": "aerann.tutorial.demo",
    "generate": "aerann.tutorial.generate",
    "gradient_check": "aerann.tutorial.gradient_check",
    "train": "aerann.tutorial.sgd",
    "bench": "aerann.cli.bench",
    "hooks": "aerann.units.hooks",
}


class MovedModuleFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Finds ``aerann.<old name>`` and loads it as the module at its new place."""

    def find_spec(self, fullname, path=None, target=None):
        package, _, name = fullname.rpartition(".")
        if package == "aerann" and name in MOVED:
            return importlib.util.spec_from_loader(fullname, self)
        return None

    def create_module(self, spec):
        module = importlib.import_module(MOVED[spec.name.rpartition(".")[2]])
        spec.loader_state = module.__spec__  # the import system sets __spec__ to this one next
        return module

    def exec_module(self, module):
        # The module ran when it was imported at its new place; it gets its own __spec__ back.
        module.__spec__ = module.__spec__.loader_state


def install() -> None:
    if not any(isinstance(finder, MovedModuleFinder) for finder in sys.meta_path):
        sys.meta_path.insert(0, MovedModuleFinder())


def module(name):
    """``aerann.<name>`` for a name of the flat layout (the attribute access ``aerann.io``), or None."""
    return importlib.import_module(f"aerann.{name}") if name in MOVED else None
