"""One stream-training run of a small model, the same in every process that runs it.

``python distributed_run.py COORDINATOR NUM_PROCESSES PROCESS_ID OUT`` trains
it as one of several processes (JAX's CPU collectives; each process with
the devices its XLA_FLAGS make); tests/test_devices.py also calls
:func:`model` and :func:`train` itself, on one process, to compare.
"""

import sys

import aerann  # noqa: F401  (configures Aesara before it is imported)
import aesara
import numpy as np

from aerann.backend import compiler
from aerann.models import LanguageModel
from aerann.training import run

VOCAB = 7
TOKENS = np.random.default_rng(0).integers(VOCAB, size=240)
COLUMNS, BPTT = 6, 5  # six columns do not divide over four devices: two all-padding columns are added


def model():
    """The GRU-under-LSTM language model every run starts from, with recurrent dropout."""
    return LanguageModel(VOCAB, 3, layers=[("gru", 4), ("lstm", 3)], seed=1, recurrent_dropout=0.2)


def train(lm, out, epochs, devices, resume=False, callback=None):
    """Stream training in the run folder ``out`` on ``devices`` devices (a checkpoint every 7 steps)."""
    return run.train_stream(lm, TOKENS, out, bptt=BPTT, batch_size=COLUMNS, epochs=epochs, optimizer="adam",
                            learning_rate=0.05, devices=devices, resume=resume, checkpoint_every=7,
                            plot_loss=False, verbose=False, progress=False, callback=callback)


if __name__ == "__main__":
    coordinator, processes, process, out = sys.argv[1:]
    aesara.config.floatX = "float64"
    compiler.set_backend("jax")
    aerann.initialize_distributed(coordinator, int(processes), int(process), timeout=120)
    train(model(), out, epochs=2, devices="all")
