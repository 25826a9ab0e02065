"""RecurrentStack: a stack of recurrent units on its own, with no input or output layer.

Every model holds one (``model.stack``) between its input layer and its
softmax; on its own it is the recurrent part of a network, called like a
PyTorch module on NumPy arrays::

    stack = RecurrentStack(3, [("gru", 8), ("lstm", 4)])
    outputs, final = stack(x)              # x (T, B, 3) -> outputs (T, B, 4)
    outputs, final = stack(x2, final)      # carries on from the final states

Time-major: ``x`` is (T, B, n_in) and ``outputs`` the top layer's states
(T, B, n_out) at every step.  States are listed per layer, one (B, n_out)
array per name in its unit's ``states`` (``h``; an LSTM's ``h`` and ``c``).
Layer specs are the models': ``("gru", 64)`` or ``("lstm", 64, {...})``.
"""

import json

import aesara
import aesara.tensor as at
import numpy as np

from aerann import graph, units
from aerann.backend import compiler
from aerann.data.validation import dropout_rate, positive_int


def parse_layers(layers):
    """Normalise layer specs to ``[(unit_name, n_out, kwargs)]``."""
    if isinstance(layers, (str, bytes)) or not layers:
        raise ValueError("layers must be a non-empty list like [('gru', 64), ('lstm', 32)]")
    parsed = []
    for i, spec in enumerate(layers):
        if not isinstance(spec, (tuple, list)) or len(spec) not in (2, 3):
            raise ValueError(f"layer {i}: expected (unit_name, n_out) or (unit_name, n_out, kwargs), got {spec!r}")
        name, n_out, *rest = spec
        if rest and not isinstance(rest[0], dict):
            raise TypeError(f"layer {i}: the unit's keyword arguments must be a dict, got {rest[0]!r}")
        kwargs = dict(rest[0]) if rest else {}
        if not isinstance(name, str):
            raise TypeError(f"layer {i}: the unit name must be a string, got {name!r}")
        parsed.append((name, positive_int(n_out, f"layer {i} size"), kwargs))
    return parsed


class RecurrentStack:
    """Registered units in order, each fed the previous one's first state.

    ``n_in`` is the size of the inputs; ``seed`` an integer or a NumPy
    Generator (a model passes its own, so that its parameters are drawn in
    one sequence).  Parameters are named ``layer{i}.{name}`` in
    :attr:`params`; ``truncate_gradient`` and ``grad_clip`` are the scan
    driver's (:mod:`aerann.graph`).

    ``dropout`` (a rate, or one per layer) drops each layer's inputs, and
    ``recurrent_dropout`` the state entering each layer's recurrent products
    (one mask per sequence, reused at every step): inverted dropout, in
    training only.  The training step takes the masks as inputs, which
    :meth:`dropout_masks` draws; calling the stack never drops anything.
    """

    def __init__(self, n_in, layers, seed=0, truncate_gradient=-1, grad_clip=None, dropout=0.0,
                 recurrent_dropout=0.0):
        self.n_in = positive_int(n_in, "n_in")
        self.layers = parse_layers(layers)
        self.truncate_gradient = graph.check_truncate_gradient(truncate_gradient)
        self.grad_clip = graph.check_grad_clip(grad_clip)
        self.dropout = _rates(dropout, len(self.layers), "dropout")
        self.recurrent_dropout = _rates(recurrent_dropout, len(self.layers), "recurrent_dropout")
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.Generator)):
            raise TypeError(f"seed must be an integer or a numpy Generator, got {seed!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.units, self.params = [], {}
        n = self.n_in
        for i, (name, n_out, kwargs) in enumerate(self.layers):
            unit_class = units.get(name)
            try:
                unit = unit_class(n, n_out, rng, **kwargs)
            except TypeError as error:
                raise ValueError(f"layer {i} ({name}): {error}") from None
            for param_name, shared in unit.params.items():
                shared.name = f"layer{i}.{param_name}"
                self.params[shared.name] = shared
            if self.recurrent_dropout[i] and not unit.recurrent_inputs:
                raise ValueError(f"layer {i} ({name}): recurrent_dropout needs a unit that lists its "
                                 f"recurrent_inputs, and {type(unit).__name__} lists none (see docs/plugins.md)")
            self.units.append(unit)
            n = n_out

    @property
    def n_out(self) -> int:
        """The size of the top layer's states."""
        return self.units[-1].n_out

    @property
    def dtype(self) -> str:
        """The parameters' dtype (floatX when the stack was built)."""
        return next(iter(self.params.values())).dtype

    def __repr__(self) -> str:
        layers = ", ".join(repr(unit) for unit in self.units)
        return f"RecurrentStack(n_in={self.n_in}, layers=[{layers}])"

    # -- the graph -------------------------------------------------------------
    def symbolic(self, x, mask=None, initial=None, dropout_masks=None) -> graph.StackStates:
        """The stack over symbolic inputs ``x`` (T, B, n_in): the top layer's states and every layer's
        final states (:func:`aerann.graph.scan_stack`); ``dropout_masks`` are what
        :meth:`symbolic_dropout_masks` makes, None for no dropout."""
        input_masks = recurrent_masks = None
        if dropout_masks:
            masks = iter(dropout_masks)
            input_masks = [next(masks) if rate else None for rate in self.dropout]
            recurrent_masks = [[next(masks) for _ in unit.recurrent_inputs] if rate else None
                               for unit, rate in zip(self.units, self.recurrent_dropout)]
        return graph.scan_stack(self.units, x, mask, truncate_gradient=self.truncate_gradient,
                                grad_clip=self.grad_clip, initial=initial, input_masks=input_masks,
                                recurrent_masks=recurrent_masks)

    @property
    def has_dropout(self) -> bool:
        return any(self.dropout) or any(self.recurrent_dropout)

    def symbolic_dropout_masks(self) -> list:
        """Symbolic inputs for the dropout masks, in the order :meth:`dropout_masks` draws them: each
        dropped layer's input mask (T, B, n_in), then each layer's recurrent masks (B, n_out)."""
        masks = [at.tensor3(f"layer{i}.input_mask", dtype=self.dtype) for i, rate in enumerate(self.dropout) if rate]
        for i, (unit, rate) in enumerate(zip(self.units, self.recurrent_dropout)):
            if rate:
                masks += [at.matrix(f"layer{i}.{name}_mask", dtype=self.dtype) for name in unit.recurrent_inputs]
        return masks

    def dropout_masks(self, rng, steps, batch) -> list:
        """New dropout masks for a minibatch of ``batch`` sequences of ``steps`` steps, drawn from
        ``rng``: each entry 0 with the layer's rate p, 1 / (1 - p) otherwise."""
        masks, n_in = [], [self.n_in] + [unit.n_out for unit in self.units[:-1]]
        for n, rate in zip(n_in, self.dropout):
            if rate:
                masks.append(_mask(rng, (steps, batch, n), rate, self.dtype))
        for unit, rate in zip(self.units, self.recurrent_dropout):
            if rate:
                masks += [_mask(rng, (batch, unit.n_out), rate, self.dtype) for _ in unit.recurrent_inputs]
        return masks

    def symbolic_step(self, x_t, states):
        """One step of every layer outside any scan: the new states of every layer from the inputs
        ``x_t`` (B, n_in) of one step and every layer's ``states``."""
        new = []
        for unit, previous in zip(self.units, states):
            new.append(graph.step_layer(unit, x_t, previous))
            x_t = new[-1][0]
        return new

    def symbolic_states(self):
        """Symbolic matrices for every layer's states, shaped as :meth:`initial_states` returns them."""
        return [[at.matrix(f"layer{i}.{name}", dtype=self.dtype) for name in unit.states]
                for i, unit in enumerate(self.units)]

    # -- states -------------------------------------------------------------------
    def initial_states(self, count=1):
        """The learnable initial states for ``count`` sequences: for every layer, one (count, n_out)
        array per name in its unit's ``states``."""
        count = positive_int(count, "count")
        return [[np.tile(h0.get_value(), (count, 1)) for h0 in unit.initial_states()] for unit in self.units]

    def check_states(self, states, count, name="initial states"):
        """``states`` as :meth:`initial_states` gives them for ``count`` sequences (copies in the
        parameters' dtype), or a ValueError naming the layer and state that do not fit."""
        if not isinstance(states, (list, tuple)) or len(states) != len(self.units):
            got = len(states) if isinstance(states, (list, tuple)) else type(states).__name__
            raise ValueError(f"{name}: expected a list of {len(self.units)} layer(s), got {got}")
        checked = []
        for i, (unit, layer) in enumerate(zip(self.units, states)):
            if not isinstance(layer, (list, tuple)) or len(layer) != len(unit.states):
                got = len(layer) if isinstance(layer, (list, tuple)) else type(layer).__name__
                raise ValueError(f"{name} of layer {i} ({unit.name}): expected {len(unit.states)} state(s) "
                                 f"{unit.states}, got {got}")
            arrays = []
            for state_name, value in zip(unit.states, layer):
                array = np.asarray(value)
                if array.shape != (count, unit.n_out) or array.dtype.kind not in "fiu":
                    raise ValueError(f"{name}: {state_name} of layer {i} ({unit.name}) must be a ({count}, "
                                     f"{unit.n_out}) array of numbers, got {array.dtype} {array.shape}")
                if not np.all(np.isfinite(array)):
                    raise ValueError(f"{name}: {state_name} of layer {i} ({unit.name}) holds NaN or infinite values")
                arrays.append(array.astype(self.dtype))
            checked.append(arrays)
        return checked

    # -- calling it -------------------------------------------------------------------
    def __call__(self, x, initial_states=None):
        """Run the stack over ``x`` (T, B, n_in): ``(outputs, final_states)``.

        ``outputs`` are the top layer's states (T, B, n_out) at every step;
        ``final_states`` every layer's states after the last step, shaped as
        ``initial_states``: None (the learnable initial states) or, for every
        layer, one (B, n_out) array per state.
        """
        try:
            x = np.asarray(x, dtype=np.float64)
        except (TypeError, ValueError):
            raise TypeError("x must be an array of numbers (steps, batch, n_in)") from None
        if x.ndim != 3 or x.shape[2] != self.n_in or x.shape[0] == 0 or x.shape[1] == 0:
            raise ValueError(f"x must have shape (steps, batch, {self.n_in}) with steps, batch >= 1, got {x.shape}")
        if not np.all(np.isfinite(x)):
            raise ValueError("x holds NaN or infinite values")
        batch = x.shape[1]
        initial = self.initial_states(batch) if initial_states is None else self.check_states(initial_states, batch)
        function, names = self.compiled()
        values = [self.params[name].get_value() for name in names]
        outputs, *final = function(x.astype(self.dtype), *[s for layer in initial for s in layer], *values)
        grouped, start = [], 0
        for unit in self.units:
            grouped.append(final[start : start + len(unit.states)])
            start += len(unit.states)
        return outputs, grouped

    def structure(self) -> tuple:
        """What the stack's graph depends on: each unit's class, configuration and parameters' names and
        ranks, the dtype and the driver's settings; not the sizes."""
        layers = tuple(
            (type(unit), json.dumps(unit.config(), sort_keys=True),
             tuple((name, shared.ndim) for name, shared in unit.params.items()))
            for unit in self.units
        )
        return layers, self.dtype, self.truncate_gradient, self.grad_clip  # dropout: training only

    def compiled(self):
        """``(f, names)``: ``f(x, *initial states, *parameters) -> [outputs, *final states]``, the parameters
        being those ``names`` in :attr:`params`.

        The parameters are inputs, and no size is fixed, so that every stack
        of one :meth:`structure` shares the function compiled first (as many
        as a conversion from PyTorch makes, say) on each backend.
        """
        key = (self.structure(), compiler.get_backend())
        if key not in _COMPILED:
            x = at.tensor3("x", dtype=self.dtype)
            states = self.symbolic_states()
            names = list(self.params)
            shared = [self.params[name] for name in names]
            symbols = [at.TensorType(p.dtype, shape=(None,) * p.ndim)(p.name) for p in shared]
            with aesara.config.change_flags(floatX=self.dtype):
                result = self.symbolic(x, initial=states)
                flat = [s for layer in states for s in layer]
                outputs = [result.output, *[s for layer in result.final for s in layer]]
                function = compiler.function([x, *flat, *symbols], outputs, givens=list(zip(shared, symbols)))
            _COMPILED[key] = (function, names)
        return _COMPILED[key]


def _rates(value, count, name):
    """A dropout rate in [0, 1) for each of ``count`` layers, from one rate or a list of them."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(values) != count:
        raise ValueError(f"{name}: {len(values)} rates for {count} layer(s)")
    return [dropout_rate(rate, name) for rate in values]


def _mask(rng, shape, rate, dtype):
    return ((rng.random(shape) >= rate) / (1.0 - rate)).astype(dtype)


_COMPILED = {}  # RecurrentStack.structure() and backend -> (function, parameter names)
