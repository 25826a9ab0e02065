"""Bookkeeping nodes of a function's outer graph run Aesara's Python code; loop bodies keep C."""

import pickle

import aerann  # noqa: F401
import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.scan.op import Scan
from aesara.tensor.shape import Shape_i

from aerann.backend import compiler, parallel_compiles, python_thunks


def _graph():
    """x (float64 matrix), n (int64 scalar) -> the first n - 1 rows of x, transposed, doubled,
    with a scan over the rows of x (so there is a loop body with a view in it)."""
    x, n = at.dmatrix("x"), at.lscalar("n")
    first = x[: at.maximum(n - 1, 1)].T * 2.0
    rows, _ = aesara.scan(lambda row, total: total + row.dimshuffle("x", 0)[0], sequences=[x],
                          outputs_info=[at.zeros_like(x[0])])
    return [x, n], [first, rows[-1]]


def _thunks(function):
    return list(zip(function.vm.nodes, function.vm.thunks))


def _is_c(thunk) -> bool:
    return hasattr(thunk, "cthunk")


@pytest.fixture(scope="module")
def compiled():
    """The graph compiled twice outside aerann's function cache: with Python thunks, and without."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("AERANN_FUNCTION_CACHE", "0")
        with_python = compiler.function(*_graph())
        patch.setenv("AERANN_PYTHON_THUNKS", "0")
        all_c = compiler.function(*_graph())
    return with_python, all_c


def test_the_outer_graphs_bookkeeping_nodes_run_in_python_and_compute_the_same(compiled):
    with_python, all_c = compiled
    thunks = _thunks(with_python)
    size_free = {node for node, _ in thunks if python_thunks.size_free(node)}
    in_python = {node for node, thunk in thunks if not _is_c(thunk) and not isinstance(node.op, Scan)}
    assert size_free and in_python == size_free
    assert any(isinstance(node.op, at.elemwise.DimShuffle) for node in in_python)
    assert any(isinstance(node.op, at.subtensor.Subtensor) for node in in_python)
    assert any(isinstance(node.op, at.elemwise.Elemwise) for node in in_python), "integer arithmetic"
    assert all(_is_c(thunk) for node, thunk in _thunks(all_c) if python_thunks.size_free(node))
    x = np.random.default_rng(0).normal(size=(5, 3))
    for n in (0, 3, 9):
        for got, expected in zip(with_python(x, n), all_c(x, n)):
            np.testing.assert_array_equal(got, expected)


def test_a_loops_body_keeps_its_c_code(compiled):
    with_python, _ = compiled
    (scan,) = [node.op for node, _ in _thunks(with_python) if isinstance(node.op, Scan)]
    assert scan.fgraph.loop_body
    body = _thunks(scan.fn)
    assert any(python_thunks.size_free(node) for node, _ in body)
    assert all(_is_c(thunk) for node, thunk in body if python_thunks.size_free(node))
    # the mark travels with the scan, as in aerann's function cache
    assert pickle.loads(pickle.dumps(scan.fgraph)).loop_body
    assert scan.clone().fgraph.loop_body


def test_no_c_module_is_built_ahead_for_a_python_node(monkeypatch):
    asked = []
    monkeypatch.setattr(parallel_compiles, "build_ahead", lambda nodes: asked.extend(nodes) or [])
    monkeypatch.setenv("AERANN_FUNCTION_CACHE", "0")
    function = compiler.function(*_graph())
    in_python = {node for node, thunk in _thunks(function) if python_thunks.size_free(node)}
    assert asked and in_python and not in_python & set(asked)
    assert not any(_is_c(thunk) for node, thunk in _thunks(function) if node in in_python)


@pytest.mark.parametrize(
    "build, expected",
    [
        (lambda: at.dmatrix().T, True),  # a view
        (lambda: at.dmatrix()[1:], True),
        (lambda: Shape_i(0)(at.dmatrix()), True),  # reads a shape
        (lambda: at.lscalar() + at.lscalar(), True),  # integer arithmetic on scalars
        (lambda: at.dscalar() + at.dscalar(), False),  # floating point stays in C
        (lambda: at.lvector() + at.lvector(), False),  # grows with the data
        (lambda: at.dmatrix().sum(), False),
        (lambda: at.dmatrix() * 2.0, False),
    ],
)
def test_size_free_nodes(build, expected):
    assert python_thunks.size_free(build().owner) is expected
