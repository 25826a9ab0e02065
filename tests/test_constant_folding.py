"""Constant folding computes a node of constants with its op's Python implementation: no gcc."""

import time

import aerann  # noqa: F401
import aesara
import aesara.scalar as aes
import aesara.tensor as at
import numpy as np
from aesara.graph.basic import Constant
from aesara.graph.fg import FunctionGraph
from aesara.link.c.cmodule import GCC_compiler
from aesara.tensor.elemwise import Elemwise
from aesara.tensor.rewriting.basic import topo_constant_folding


def test_a_node_of_constants_folds_without_compiling_and_keeps_aesaras_constant_type(monkeypatch):
    calls = []
    compile_str = GCC_compiler.compile_str
    monkeypatch.setattr(GCC_compiler, "compile_str", staticmethod(lambda *a, **k: calls.append(a) or compile_str(*a, **k)))
    # a fused kernel whose C code (with this moment's constant in it) no cache holds
    factor = 1.0 + (time.time_ns() % 10**12) / 10**13
    s = aes.float64()
    kernel = Elemwise(aes.Composite([s], [aes.tanh(s) * factor + aes.exp(s)]))
    values = np.array([[-1.0, 0.5, 2.0]])
    graph = FunctionGraph([], [kernel(at.constant(values)) * 2], clone=False)
    topo_constant_folding.rewrite(graph)
    (folded,) = graph.outputs
    assert isinstance(folded, Constant) and calls == []
    assert folded.type.shape == (1, 3) and folded.dtype == "float64"
    np.testing.assert_allclose(folded.data, (np.tanh(values) * factor + np.exp(values)) * 2, rtol=1e-15)

    x = at.dmatrix("x")  # and inside a compiled function, the folded value is what the function adds
    f = aesara.function([x], x + kernel(at.constant(values)))
    np.testing.assert_allclose(f(np.ones((1, 3))), 1 + np.tanh(values) * factor + np.exp(values), rtol=1e-15)
    assert not any(isinstance(node.op, Elemwise) and node.op.scalar_op == kernel.scalar_op
                   for node in f.maker.fgraph.apply_nodes)
