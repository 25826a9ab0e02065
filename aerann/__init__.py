"""aerann: recurrent neural networks on Aesara.

The public API is re-exported here; every name below is documented in the
README.
"""

from aerann import aesara_setup as _aesara_setup
from aerann import memory as _memory

_aesara_setup.configure()
_memory.keep_freed_memory()

from aerann import broadcast_shapes as _broadcast_shapes  # noqa: E402
from aerann import composite_pickles as _composite_pickles  # noqa: E402
from aerann import march_flags as _march_flags  # noqa: E402
from aerann import parallel_compiles as _parallel_compiles  # noqa: E402
from aerann import precompiled_headers as _precompiled_headers  # noqa: E402
from aerann import static_shapes as _static_shapes  # noqa: E402

_static_shapes.install()
_broadcast_shapes.install()
_precompiled_headers.install()
_parallel_compiles.install()
_composite_pickles.install()
_march_flags.install()

from aerann import units  # noqa: E402
from aerann.compile import get_backend, set_backend  # noqa: E402
from aerann.generate import generate_sentence  # noqa: E402
from aerann.hooks import hookimpl  # noqa: E402
from aerann.models import LanguageModel, SequenceClassifier, SequenceTagger  # noqa: E402
from aerann.reference.rnn_numpy import RNNNumpy  # noqa: E402
from aerann.train import train_with_sgd  # noqa: E402
from aerann.units import RecurrentUnit  # noqa: E402
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
    "RecurrentUnit",
    "SequenceClassifier",
    "SequenceTagger",
    "generate_sentence",
    "get_backend",
    "gradient_check_theano",
    "hookimpl",
    "load_model_parameters_theano",
    "save_model_parameters_theano",
    "set_backend",
    "train_with_sgd",
    "units",
]
