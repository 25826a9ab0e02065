"""A pickled Composite keeps its C code: read back, it hashes and compares without rebuilding its
scalar graph, equal to the op it was pickled from and to one built anew."""

import pickle

import aerann  # noqa: F401
import aesara.scalar as aes
import numpy as np


def kernel():
    x, y = aes.float64(), aes.float64()
    return aes.Composite([x, y], [aes.tanh(x) * y + aes.exp(y) * 0.25])


def test_a_read_back_composite_hashes_without_rebuilding_its_graph():
    op = kernel()
    hash(op)  # generates its C code, as every use in a graph does
    loaded = pickle.loads(pickle.dumps(op))
    assert "_c_code" in loaded.__dict__ and "_fgraph" not in loaded.__dict__
    assert hash(loaded) == hash(op) == hash(kernel())
    assert loaded == op == kernel()
    assert "_fgraph" not in loaded.__dict__
    assert loaded.c_code_template == kernel().c_code_template
    # the scalar graph comes back where it is needed, with the same values
    assert np.isclose(loaded.impl(0.5, 2.0), np.tanh(0.5) * 2.0 + np.exp(2.0) * 0.25)


def test_a_composite_pickled_before_its_code_was_generated_reads_back_as_before():
    loaded = pickle.loads(pickle.dumps(kernel()))
    assert "_c_code" not in loaded.__dict__
    assert loaded == kernel() and hash(loaded) == hash(kernel())
