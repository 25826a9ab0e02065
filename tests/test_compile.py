"""The modes aerann compiles with: Aesara's usual rewrites on either backend, less the ones that
cost more time to run than they save, with the same numbers."""

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.tensor.subtensor import Subtensor

from aerann import compile


@pytest.mark.parametrize("backend", ["c", "jax"])
def test_a_slice_of_a_slice_stays_two_views_and_selects_the_same_elements(backend):
    x = at.vector("x")
    # Aesara's local_subtensor_merge would fold each into one Subtensor
    sliced = [x[1:][2:-1:2], x[::-1][1:], x[-3:][::-1]]
    with compile.backend(backend):
        mode = compile.mode()
        usual = {"c": aesara.compile.mode.get_default_mode(), "jax": aesara.compile.mode.JAX}[backend]
        assert type(mode) is type(usual) and type(mode.linker) is type(usual.linker)
        assert set(compile.SKIPPED_REWRITES) <= set(mode.provided_optimizer.exclude)
        f = compile.function([x], sliced)
    values = np.arange(12.0)
    for got, expected in zip(f(values), [values[1:][2:-1:2], values[::-1][1:], values[-3:][::-1]]):
        np.testing.assert_array_equal(np.asarray(got), expected)
    if backend == "c":
        subtensors = [node for node in f.maker.fgraph.apply_nodes if isinstance(node.op, Subtensor)]
        assert len(subtensors) == 6
