"""aerann: recurrent neural networks on Aesara.

The public API is re-exported here; every name below is documented in the
README.
"""

from aerann import moved_modules as _moved_modules

_moved_modules.install()

from aerann.backend import aesara_setup as _aesara_setup  # noqa: E402
from aerann.backend import memory as _memory  # noqa: E402

_aesara_setup.configure()
_memory.keep_freed_memory()

from aerann.backend import broadcast_shapes as _broadcast_shapes  # noqa: E402
from aerann.backend import composite_pickles as _composite_pickles  # noqa: E402
from aerann.backend import constant_folding as _constant_folding  # noqa: E402
from aerann.backend import march_flags as _march_flags  # noqa: E402
from aerann.backend import parallel_compiles as _parallel_compiles  # noqa: E402
from aerann.backend import precompiled_headers as _precompiled_headers  # noqa: E402
from aerann.backend import python_thunks as _python_thunks  # noqa: E402
from aerann.backend import static_shapes as _static_shapes  # noqa: E402

_static_shapes.install()
_broadcast_shapes.install()
_precompiled_headers.install()
_parallel_compiles.install()
_python_thunks.install()
_composite_pickles.install()
_march_flags.install()
_constant_folding.install()

from aerann import units  # noqa: E402
from aerann.backend.compiler import get_backend, set_backend  # noqa: E402
from aerann.backend.devices import initialize as initialize_distributed  # noqa: E402
from aerann.models import LanguageModel, SequenceClassifier, SequenceTagger  # noqa: E402
from aerann.reference.rnn_numpy import RNNNumpy  # noqa: E402
from aerann.stack import RecurrentStack  # noqa: E402
from aerann.tutorial.generate import generate_sentence  # noqa: E402
from aerann.tutorial.sgd import train_with_sgd  # noqa: E402
from aerann.units import RecurrentUnit  # noqa: E402
from aerann.units.hooks import hookimpl  # noqa: E402
from aerann.tutorial import (  # noqa: E402
    RNNTheano,
    gradient_check_theano,
    load_model_parameters_theano,
    save_model_parameters_theano,
)

__version__ = "0.1.0"

__all__ = [
    "LanguageModel",
    "RNNNumpy",
    "RNNTheano",
    "RecurrentStack",
    "RecurrentUnit",
    "SequenceClassifier",
    "SequenceTagger",
    "generate_sentence",
    "get_backend",
    "gradient_check_theano",
    "hookimpl",
    "initialize_distributed",
    "load_model_parameters_theano",
    "save_model_parameters_theano",
    "set_backend",
    "train_with_sgd",
    "units",
]


def __getattr__(name):
    """``aerann.run``, ``aerann.io``, ...: the modules of the flat layout, at their new places."""
    module = _moved_modules.module(name)
    if module is None:
        raise AttributeError(f"module 'aerann' has no attribute {name!r}")
    return module
