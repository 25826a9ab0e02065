"""A model's output layer and its summed cross-entropy, with their gradients, computed block by block.

A training step ends in the output layer.  With R (N, m) the top layer's
states of N tokens (a column of ones last, for the bias), W (m, K) the
output weights (the bias as last row), y the N targets and w their weights
(the mask)::

    Z = R W                                   logits (N, K)
    loss = sum_n w_n (log sum_k exp Z_nk - Z_n,y_n)
    D = diag(w) (softmax(Z) - onehot(y))      d loss / d Z
    dW = R^T D,   dR = D W^T

Op by op (a product, a softmax cross-entropy, its gradient, two products),
each (N, K) matrix (Z, the probabilities, D) goes through memory several
times: at 1024 tokens and 8000 words that is 32 MB a pass in float32, more
than the caches hold, and those passes, not the arithmetic, took most of a
language model's step.  :class:`OutputCrossEntropy` takes the rows a block
at a time, small enough for a block's logits to stay in the cache, and does
all of the above for it (product, softmax, loss, D, D's share of dW and dR)
before the next block.  The blocks are shared among threads (NumPy and
the single-threaded BLAS calls release the GIL), each adding into a dW of
its own; the partial dWs are added up in a fixed order, so a run gives the
same numbers every time on the same machine.

The gradients are outputs of the same Op, so the training step computes the
logits once; its ``L_op`` hands them to Aesara's symbolic gradient, so
truncation, clipping and the optimizers see an ordinary graph.  Where
nothing reads them (a loss or perplexity function), a rewrite swaps the Op
for the one without gradients.  On the JAX backend
(:mod:`aerann.backend.jax_ops`) the same outputs come from ``jax.value_and_grad``
of the plain formula, which XLA fuses itself.
"""

import contextlib
import ctypes
import functools
import os
from concurrent.futures import ThreadPoolExecutor

import aesara.tensor as at
import numpy as np
from aesara.compile import optdb
from aesara.gradient import disconnected_type, grad_undefined
from aesara.graph.basic import Apply
from aesara.graph.op import Op
from aesara.graph.rewriting.basic import node_rewriter

from aerann.backend import aesara_setup
from aerann.backend.compiler import ADDED_REWRITES

# Rows per block: a block's logits hold about this many entries (4 MiB in float32: 128 rows of 8000 words),
# few enough to stay in the cache between the passes over them, enough rows for efficient products.
BLOCK_ENTRIES = 1 << 20
# A thread per this many logits (about a millisecond of work), at most one per core: on the tutorial's
# one-sentence step (45 x 8000) threads cost more than they saved.
ENTRIES_PER_THREAD = 1 << 19
_pools = {}


@functools.cache
def _numpy_openblas():
    """(set, get) of the thread count of the OpenBLAS in NumPy's wheel, or None (another BLAS)."""
    found = aesara_setup.wheel_openblas("numpy")
    if found is None:
        return None
    library = ctypes.CDLL(str(found))
    for suffix in ("64_", ""):
        if hasattr(library, f"openblas_set_num_threads{suffix}"):
            return getattr(library, f"openblas_set_num_threads{suffix}"), getattr(library, f"openblas_get_num_threads{suffix}")
    return None


def _threads(n_entries: int) -> int:
    """Threads for ``n_entries`` logits: one per core once there is enough work, if NumPy's BLAS can be
    made single-threaded meanwhile (several threads calling a multi-threaded OpenBLAS take turns)."""
    if _numpy_openblas() is None:
        return 1
    return max(1, min(os.cpu_count() or 1, n_entries // ENTRIES_PER_THREAD))


@contextlib.contextmanager
def _single_threaded_numpy_blas():
    set_threads, get_threads = _numpy_openblas()
    before = get_threads()
    set_threads(1)
    try:
        yield
    finally:
        set_threads(before)


def _map(function, count):
    """``[function(i) for i in range(count)]``, in ``count`` threads when count > 1."""
    if count == 1:
        return [function(0)]
    if count not in _pools:
        _pools[count] = ThreadPoolExecutor(count, thread_name_prefix="aerann-output-loss")
    return list(_pools[count].map(function, range(count)))


class OutputCrossEntropy(Op):
    """(R (N, m), W (m, K), targets (N,), weights (N,)) -> the weighted summed cross-entropy of softmax(R W)
    and, with ``gradients``, its gradients with respect to R and W."""

    __props__ = ("gradients",)
    runs_own_threads = True  # see aerann.backend.own_threads

    def __init__(self, gradients=True):
        self.gradients = bool(gradients)

    def make_node(self, rows, weights, targets, token_weights):
        rows, weights, targets, token_weights = map(at.as_tensor_variable, (rows, weights, targets, token_weights))
        if rows.ndim != 2 or weights.ndim != 2 or targets.ndim != 1 or token_weights.ndim != 1:
            raise TypeError("expected 2-D rows and weights, 1-D targets and token weights")
        if not targets.dtype.startswith(("int", "uint")):
            raise TypeError(f"targets must be integers, got {targets.dtype}")
        if len({rows.dtype, weights.dtype, token_weights.dtype}) != 1:
            raise TypeError(f"rows, weights and token weights must share a dtype, got "
                            f"{rows.dtype}, {weights.dtype}, {token_weights.dtype}")
        outputs = [at.scalar(dtype=rows.dtype)]
        if self.gradients:
            outputs += [rows.type(), weights.type()]
        return Apply(self, [rows, weights, targets, token_weights], outputs)

    def perform(self, node, inputs, outputs):
        rows, weights, targets, token_weights = inputs
        (n, m), k = rows.shape, weights.shape[1]
        if weights.shape[0] != m or len(targets) != n or len(token_weights) != n:
            raise ValueError(f"shapes do not match: rows {rows.shape}, weights {weights.shape}, "
                             f"targets {targets.shape}, token weights {token_weights.shape}")
        step = max(1, BLOCK_ENTRIES // max(k, 1))
        starts = range(0, n, step)
        threads = min(_threads(n * k), len(starts)) if n else 1
        d_rows = np.empty_like(rows) if self.gradients else None

        def blocks(part):
            loss, d_weights = 0.0, (np.zeros_like(weights) if self.gradients else None)
            for start in starts[part::threads]:
                stop = min(start + step, n)
                block, picked = rows[start:stop], np.arange(stop - start)
                logits = block @ weights
                logits -= logits.max(axis=1, keepdims=True)
                target_logits = logits[picked, targets[start:stop]]
                np.exp(logits, out=logits)
                totals = logits.sum(axis=1)
                w = token_weights[start:stop]
                loss += float(np.dot(w, np.log(totals) - target_logits))
                if self.gradients:
                    logits *= (w / totals)[:, None]  # softmax times the weight: D without the one-hot
                    logits[picked, targets[start:stop]] -= w
                    d_weights += block.T @ logits
                    np.matmul(logits, weights.T, out=d_rows[start:stop])
            return loss, d_weights

        with _single_threaded_numpy_blas() if threads > 1 else contextlib.nullcontext():
            parts = _map(blocks, threads)
        outputs[0][0] = np.asarray(sum(loss for loss, _ in parts), dtype=rows.dtype)
        if self.gradients:
            d_weights = parts[0][1]
            for _, more in parts[1:]:
                d_weights += more
            outputs[1][0], outputs[2][0] = d_rows, d_weights

    def infer_shape(self, fgraph, node, shapes):
        rows_shape, weights_shape, _, _ = shapes
        return [(), rows_shape, weights_shape] if self.gradients else [()]

    def L_op(self, inputs, outputs, output_grads):
        if not self.gradients:
            raise NotImplementedError("build the loss with output_cross_entropy: its gradient needs the Op's "
                                      "gradient outputs")
        g = output_grads[0]
        return [g * outputs[1], g * outputs[2], disconnected_type(),
                grad_undefined(self, 3, inputs[3], "the token weights (a mask) take no gradient")]

    def connection_pattern(self, node):
        outputs = 3 if self.gradients else 1
        return [[True] * outputs, [True] * outputs, [False] * outputs, [True] * outputs]


def output_cross_entropy(rows, weights, targets, token_weights):
    """sum_n w_n * cross-entropy(softmax(rows @ weights)[n], targets[n]): a scalar whose gradient comes
    from the same pass over the logits."""
    return OutputCrossEntropy(gradients=True)(rows, weights, targets, token_weights)[0]


@node_rewriter([OutputCrossEntropy])
def local_output_cross_entropy_without_gradients(fgraph, node):
    """Where no one reads the gradient outputs (a loss function), compute the loss alone."""
    if not node.op.gradients or any(fgraph.clients.get(output) for output in node.outputs[1:]):
        return None
    return {node.outputs[0]: OutputCrossEntropy(gradients=False).make_node(*node.inputs).outputs[0]}


if local_output_cross_entropy_without_gradients.__name__ not in optdb["specialize"].__db__:
    optdb["specialize"].register(local_output_cross_entropy_without_gradients.__name__,
                                 local_output_cross_entropy_without_gradients, ADDED_REWRITES)
