"""A compiled function holding an Op that runs its own threads calls Aesara's BLAS on one thread."""

import aesara.tensor as at
import numpy as np
import pytest
from aesara.graph.basic import Apply
from aesara.graph.op import Op

from aerann.backend import aesara_setup, compiler, own_threads
from aerann.backend.output_loss import output_cross_entropy

openblas = aesara_setup.aesara_openblas()
pytestmark = pytest.mark.skipif(openblas is None, reason="Aesara does not use the OpenBLAS aerann links")


seen = []  # not on the Op: a function loaded from aerann's cache holds a copy of it


class RecordsBlasThreads(Op):
    """x -> 2 x, recording in ``seen`` the thread count of Aesara's OpenBLAS while it runs."""

    __props__ = ()

    def make_node(self, x):
        x = at.as_tensor_variable(x)
        return Apply(self, [x], [x.type()])

    def perform(self, node, inputs, outputs):
        seen.append(openblas.openblas_get_num_threads())
        if np.isnan(inputs[0]).any():
            raise ValueError("the log of a negative number")
        outputs[0][0] = 2 * inputs[0]


class RunsItsOwnThreads(RecordsBlasThreads):
    runs_own_threads = True


@pytest.fixture
def two_blas_threads():
    seen.clear()
    before = openblas.openblas_get_num_threads()
    if aesara_setup.set_blas_threads(aesara_setup.scipy_openblas(), 2) != 2:
        aesara_setup.set_blas_threads(aesara_setup.scipy_openblas(), before)
        pytest.skip("this machine gives OpenBLAS a single thread")
    yield
    aesara_setup.set_blas_threads(aesara_setup.scipy_openblas(), before)


@pytest.mark.parametrize("op_class, threads_inside", [(RunsItsOwnThreads, 1), (RecordsBlasThreads, 2)])
def test_only_a_function_with_such_an_op_runs_on_one_blas_thread_and_the_count_comes_back(
        two_blas_threads, op_class, threads_inside):
    x = at.vector("x")
    f = compiler.function([x], op_class()(x))
    np.testing.assert_array_equal(f(np.array([1.0, -3.0])), [2.0, -6.0])
    assert seen == [threads_inside]
    assert openblas.openblas_get_num_threads() == 2


def test_the_count_comes_back_when_the_call_fails(two_blas_threads):
    x = at.vector("x")
    f = compiler.function([x], RunsItsOwnThreads()(at.log(x)))
    with pytest.raises(ValueError, match="negative"):
        f(np.array([-1.0]))
    assert seen == [1]
    assert openblas.openblas_get_num_threads() == 2


def test_the_output_layers_op_runs_its_own_threads():
    rows, weights = at.matrix("rows"), at.matrix("weights")
    targets, token_weights = at.ivector("targets"), at.vector("token_weights")
    loss = output_cross_entropy(rows, weights, targets, token_weights)
    assert own_threads.runs_own_threads(compiler.function([rows, weights, targets, token_weights], loss))
