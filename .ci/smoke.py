"""A short check that an installed aerann works: import, text, a NumPy model with its gradient check,
one compiled function and the command line.  Run by .ci/python312 on Python 3.12."""

import subprocess
import sys

import numpy as np

import aerann
from aerann.backend import compiler
from aerann.data.text import Vocabulary, tokenize, training_data

sentences = tokenize("The cat sat on the mat. The dog ran to the cat. A cat ran.")
vocab = Vocabulary.build(sentences, 12)
X, Y = training_data(sentences, vocab)
np.random.seed(0)
model = aerann.RNNNumpy(len(vocab), hidden_dim=4, bptt_truncate=3)
loss = model.calculate_loss(X, Y)
assert abs(loss - np.log(len(vocab))) < 0.1, loss  # small random weights: near-uniform predictions
assert model.gradient_check(X[0], Y[0]), "BPTT disagrees with finite differences"

import aesara.tensor as at  # noqa: E402 (after aerann, which configures Aesara)

x = at.dvector("x")
square_sum = compiler.function([x], (x**2).sum())
assert square_sum(np.array([1.0, 2.0])) == 5.0

units = subprocess.run([sys.executable, "-m", "aerann.cli", "units"], capture_output=True, text=True, check=True)
assert all(name in units.stdout for name in ("elman", "rated", "gru", "lstm")), units.stdout
print(f"aerann {aerann.__version__} works on Python {sys.version.split()[0]}: loss {loss:.3f}, gradients checked, "
      "a compiled function, the command")
