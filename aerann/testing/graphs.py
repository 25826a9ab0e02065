"""The compiled functions the certification runs: one per stack structure, any sizes.

A structure is a tuple of layers, each ``(unit name, options as sorted
items)``.  Its function is compiled once per structure, truncation,
precision and backend, and serves every example hypothesis draws: the
LanguageModel is built once at placeholder sizes and its shared parameters
are replaced by symbolic inputs of the same type, so the function takes
parameters of any size.  The placeholder sizes are never drawn, so a size
baked into a unit's graph fails loudly instead of broadcasting silently.

Every layer's initial states are inputs too, which is what the truncation
and final-state checks need; the gradient of a learnable initial state
(``h0``) is the sum over the batch of the gradient of its layer's initial
state, which is how :func:`evaluate` reports it.
"""

import aesara
import aesara.tensor as at
import numpy as np

from aerann import units
from aerann.backend import compiler
from aerann.models import LanguageModel

PLACEHOLDER_VOCAB, PLACEHOLDER_EMBEDDING, PLACEHOLDER_HIDDEN = 11, 9, 10  # larger than anything drawn
_functions = {}


def layer_specs(structure, sizes):
    """LanguageModel layer specs of ``structure`` at these hidden sizes."""
    return [(name, n, dict(options)) if options else (name, n) for (name, options), n in zip(structure, sizes)]


class Compiled:
    """A structure's function and what its inputs and outputs are.

    ``masked=False`` compiles the stack without a mask, and only its loss and
    final states (no gradients).
    """

    def __init__(self, structure, truncate_gradient, masked):
        model = LanguageModel(
            PLACEHOLDER_VOCAB, PLACEHOLDER_EMBEDDING,
            layers=layer_specs(structure, [PLACEHOLDER_HIDDEN] * len(structure)),
            truncate_gradient=truncate_gradient,
        )
        initial = {f"layer{i}.{state}0" for i, unit in enumerate(model.units) for state in unit.states}
        self.names = [name for name in model.params if name not in initial]
        self.state_names = [[f"layer{i}.{state}0" for state in unit.states] for i, unit in enumerate(model.units)]
        shared = [model.params[name] for name in self.names]
        symbols = [at.TensorType(p.dtype, shape=(None,) * p.ndim)(p.name) for p in shared]
        X, Y = at.imatrix("X"), at.imatrix("Y")
        mask = at.matrix("mask", dtype=aesara.config.floatX)
        states = model.symbolic_states()
        flat_states = [s for unit_states in states for s in unit_states]
        stack = model.symbolic_stack(X, mask if masked else None, states)
        if masked:
            loss = model.loss_of(stack.output, X, Y, mask)
            grads = aesara.grad(loss, shared + flat_states, disconnected_inputs="ignore")
        else:  # the loss and the final states only: what a mask of ones is compared with
            logp = model.log_probabilities_of(stack.output, X)
            loss = -at.sum(at.take_along_axis(logp, Y[:, :, None], axis=-1))
            grads = []
        finals = [s for unit_states in stack.final for s in unit_states]
        inputs = [X, Y] + ([mask] if masked else []) + flat_states + symbols
        self.masked = masked
        self.function = compiler.function(inputs, [loss] + grads + finals, givens=list(zip(shared, symbols)))

    def __call__(self, X, Y, mask, params, initial=None):
        """(loss, gradients by name, final states: a list per layer) for these parameters.

        ``initial`` (a list per layer of (B, n_out) arrays) defaults to the
        learnable initial states in ``params`` (their gradients are then
        reported under their names).
        """
        B = X.shape[1]
        learned = initial is None
        if learned:
            initial = [[np.tile(params[name], (B, 1)) for name in names] for names in self.state_names]
        flat = [s for layer in initial for s in layer]
        dtype = aesara.config.floatX
        args = [X, Y] + ([np.asarray(mask, dtype)] if self.masked else [])
        outputs = self.function(*args, *[np.asarray(s, dtype) for s in flat],
                                *[np.asarray(params[name], dtype) for name in self.names])
        outputs = [np.asarray(o) for o in outputs]
        loss, rest = float(outputs[0]), outputs[1:]
        if not self.masked:
            return loss, {}, self._per_layer(rest)
        grads = dict(zip(self.names, rest[: len(self.names)]))
        state_grads, finals = rest[len(self.names): len(self.names) + len(flat)], rest[len(self.names) + len(flat):]
        if learned:
            for name, grad in zip([n for names in self.state_names for n in names], state_grads):
                grads[name] = grad.sum(axis=0)
        return loss, grads, self._per_layer(finals)

    def _per_layer(self, flat):
        """Final states, a list per layer."""
        per_layer, start = [], 0
        for names in self.state_names:
            per_layer.append(flat[start: start + len(names)])
            start += len(names)
        return per_layer


def compiled(structure, truncate_gradient=-1, masked=True) -> Compiled:
    """The structure's :class:`Compiled`, built on first use for the current backend and floatX."""
    key = (structure, truncate_gradient, masked, compiler.get_backend(), aesara.config.floatX)
    if key not in _functions:
        _functions[key] = Compiled(structure, truncate_gradient, masked)
    return _functions[key]


def parameter_shapes(structure, vocab, embed, sizes):
    """Name -> shape of every parameter of the structure's LanguageModel at these sizes."""
    shapes = {"embedding": (vocab, embed)}
    n_in = embed
    for i, ((name, options), n_out) in enumerate(zip(structure, sizes)):
        unit = units.get(name)(n_in, n_out, np.random.default_rng(0), **dict(options))
        shapes.update({f"layer{i}.{p}": v.get_value(borrow=True).shape for p, v in unit.params.items()})
        n_in = n_out
    shapes["output.W"] = (n_in, vocab)
    shapes["output.b"] = (vocab,)
    return shapes
