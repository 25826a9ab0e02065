"""The modes aerann compiles with: Aesara's usual rewrites on either backend, less the merging of a
slice of a slice (the same numbers), but an index of a slice still merged (so that a scan whose
last state alone is read keeps only its last steps)."""

import tracemalloc

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.tensor.subtensor import Subtensor

from aerann.backend import compiler


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_a_slice_of_a_slice_stays_two_views_and_selects_the_same_elements(backend):
    x = at.vector("x")
    # Aesara's local_subtensor_merge would fold each into one Subtensor
    sliced = [x[1:][2:-1:2], x[::-1][1:], x[-3:][::-1]]
    with compiler.backend(backend):
        mode = compiler.mode()
        usual = {"c": aesara.compile.mode.get_default_mode(), "jax": aesara.compile.mode.JAX}[backend]
        assert type(mode) is type(usual) and type(mode.linker) is type(usual.linker)
        assert set(compiler.SKIPPED_REWRITES) <= set(mode.provided_optimizer.exclude)
        f = compiler.function([x], sliced)
    values = np.arange(12.0)
    for got, expected in zip(f(values), [values[1:][2:-1:2], values[::-1][1:], values[-3:][::-1]]):
        np.testing.assert_array_equal(np.asarray(got), expected)
    if backend == "c":
        subtensors = [node for node in f.maker.fgraph.apply_nodes if isinstance(node.op, Subtensor)]
        assert len(subtensors) == 6


def test_a_function_that_reads_only_the_last_state_of_a_scan_keeps_only_the_last_steps():
    x = at.matrix("x")
    states, _ = aesara.scan(lambda x_t, h: at.tanh(x_t + h), sequences=[x], outputs_info=[at.zeros(x.shape[1])])
    last = compiler.function([x], states[-1])  # states is buffer[1:]: an index of a slice
    values = np.full((20_000, 50), 0.01)  # every state: 8 MB
    tracemalloc.start()
    try:
        result = last(values)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000, peak
    expected = np.zeros(50)
    for row in values:
        expected = np.tanh(row + expected)
    np.testing.assert_allclose(result, expected, rtol=1e-12)
