"""Softmax cross-entropy as one Aesara Op, with its gradient as another.

A language model's output layer is a softmax over the vocabulary at every
token: with a batch of 1024 tokens and 8000 words that is 8 M
probabilities per step.  Written with Aesara's own ``log_softmax`` and
indexing, the loss and its gradient take a softmax, a log-softmax, two
row sums, an index scatter and several elementwise passes, each a scalar C
loop; that was half of a training step.  Here the forward pass is one
vectorised NumPy pass (shift, exp, normalise) that also keeps the
probabilities, and the gradient ``g * (probabilities - one_hot(targets))``
reuses them.

Both passes run over blocks of rows in threads (NumPy releases the GIL in
its loops), so a batch's softmax uses every core as the products do.

The gradient is still Aesara's symbolic one: :meth:`SoftmaxCrossEntropy.grad`
returns a graph (the :class:`SoftmaxCrossEntropyGrad` Op), so truncation,
clipping and the JAX backend (which has its own implementation of both Ops,
in :mod:`aerann.backend.jax_ops`) see an ordinary graph.
"""

import os
from concurrent.futures import ThreadPoolExecutor

import aesara.tensor as at
import numpy as np
from aesara.gradient import DisconnectedType, disconnected_type, grad_not_implemented
from aesara.graph.basic import Apply
from aesara.graph.op import Op


# A block of rows gets a thread of its own once it holds this many entries
# (about half a millisecond of work): with smaller blocks the tutorial's
# per-sentence step (45 x 8000) got slower, not faster, on 2 cores.
ENTRIES_PER_THREAD = 1 << 18
_pools = {}


def _in_row_blocks(function, n_rows, n_columns):
    """Call ``function(start, stop)`` on blocks of rows covering ``n_rows``, in threads when large."""
    blocks = max(1, min(os.cpu_count() or 1, n_rows, n_rows * n_columns // ENTRIES_PER_THREAD))
    if blocks == 1:
        function(0, n_rows)
        return
    if blocks not in _pools:
        _pools[blocks] = ThreadPoolExecutor(blocks, thread_name_prefix="aerann-crossentropy")
    bounds = np.linspace(0, n_rows, blocks + 1).astype(int)
    list(_pools[blocks].map(function, bounds[:-1], bounds[1:]))  # list() re-raises a block's error


def _check_inputs(logits, targets):
    logits, targets = at.as_tensor_variable(logits), at.as_tensor_variable(targets)
    if logits.ndim != 2 or targets.ndim != 1:
        raise TypeError(f"expected 2-D logits and 1-D targets, got {logits.ndim}-D and {targets.ndim}-D")
    if not targets.dtype.startswith(("int", "uint")):
        raise TypeError(f"targets must be integers, got {targets.dtype}")
    return logits, targets


class SoftmaxCrossEntropy(Op):
    """(logits (N, K), targets (N,)) -> (-log softmax(logits)[n, targets[n]] (N,), softmax (N, K))."""

    __props__ = ()

    def make_node(self, logits, targets):
        logits, targets = _check_inputs(logits, targets)
        losses = at.TensorType(logits.dtype, shape=(None,))()
        return Apply(self, [logits, targets], [losses, logits.type()])

    def perform(self, node, inputs, outputs):
        logits, targets = inputs
        losses = np.empty(len(targets), dtype=logits.dtype)
        probabilities = np.empty_like(logits)

        def rows(start, stop):
            block = probabilities[start:stop]
            np.subtract(logits[start:stop], logits[start:stop].max(axis=1, keepdims=True), out=block)
            picked = block[np.arange(stop - start), targets[start:stop]]
            np.exp(block, out=block)
            totals = block.sum(axis=1)
            block *= (1 / totals)[:, None]
            losses[start:stop] = np.log(totals) - picked

        _in_row_blocks(rows, *logits.shape)
        outputs[0][0] = losses
        outputs[1][0] = probabilities

    def infer_shape(self, fgraph, node, shapes):
        logits_shape, _ = shapes
        return [(logits_shape[0],), logits_shape]

    def grad(self, inputs, output_grads):
        logits, targets = inputs
        g_losses, g_probabilities = output_grads
        _, probabilities = self(logits, targets)
        terms = []
        if not isinstance(g_losses.type, DisconnectedType):
            terms.append(SoftmaxCrossEntropyGrad()(g_losses, probabilities, targets))
        if not isinstance(g_probabilities.type, DisconnectedType):
            weighted = g_probabilities * probabilities
            terms.append(weighted - probabilities * weighted.sum(axis=1, keepdims=True))
        g_logits = terms[0] if len(terms) == 1 else terms[0] + terms[1]
        return [g_logits, disconnected_type()]

    def connection_pattern(self, node):
        return [[True, True], [False, False]]


class SoftmaxCrossEntropyGrad(Op):
    """(g (N,), probabilities (N, K), targets (N,)) -> g[:, None] * (probabilities - one_hot(targets))."""

    __props__ = ()

    def make_node(self, g_losses, probabilities, targets):
        probabilities, targets = _check_inputs(probabilities, targets)
        g_losses = at.as_tensor_variable(g_losses)
        return Apply(self, [g_losses, probabilities, targets], [probabilities.type()])

    def perform(self, node, inputs, outputs):
        g_losses, probabilities, targets = inputs
        result = np.empty_like(probabilities)

        def rows(start, stop):
            np.multiply(probabilities[start:stop], g_losses[start:stop, None], out=result[start:stop])
            result[np.arange(start, stop), targets[start:stop]] -= g_losses[start:stop]

        _in_row_blocks(rows, *probabilities.shape)
        outputs[0][0] = result

    def infer_shape(self, fgraph, node, shapes):
        return [shapes[1]]

    def grad(self, inputs, output_grads):
        return [grad_not_implemented(self, i, x, "second derivatives") for i, x in enumerate(inputs)]


softmax_cross_entropy = SoftmaxCrossEntropy()


def cross_entropy(logits, targets):
    """-log softmax(logits)[n, targets[n]] for every row n: (N,)."""
    return softmax_cross_entropy(logits, targets)[0]
