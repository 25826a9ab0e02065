"""RecurrentStack: a stack of recurrent units on its own, with no input or output layer.

Every model holds one (``model.stack``) between its input layer and its
softmax; on its own it is the recurrent part of a network, called like a
PyTorch module on NumPy arrays::

    stack = RecurrentStack(3, [("gru", 8), ("lstm", 4)])
    outputs, final = stack(x)              # x (T, B, 3) -> outputs (T, B, 4)
    outputs, final = stack(x2, final)      # carries on from the final states

Time-major: ``x`` is (T, B, n_in) and ``outputs`` the top layer's states
(T, B, n_out) at every step.  States are listed per unit (one per layer, two
in a bidirectional layer: forward, then backward), one (B, n_out) array per
name in its ``states`` (``h``; an LSTM's ``h`` and ``c``).  Layer specs are
the models': ``("gru", 64)``, ``("lstm", 64, {...})`` or a dict
(:func:`parse_layers`).
"""

import json
from typing import NamedTuple, Optional

import aesara
import aesara.tensor as at
import numpy as np

from aerann import graph, units
from aerann.backend import compiler
from aerann.data.validation import dropout_rate, positive_int


class LayerSpec(NamedTuple):
    """One layer of a stack: its unit's name, size and keyword arguments, whether it runs both ways, and
    its own dropout rates (None: the model's)."""

    unit: str
    size: int
    kwargs: dict
    bidirectional: bool = False
    dropout: Optional[float] = None
    recurrent_dropout: Optional[float] = None

    def as_config(self):
        """The spec as a model file stores it: a list [unit, size, kwargs], or a dict when it needs one."""
        if not (self.bidirectional or self.dropout is not None or self.recurrent_dropout is not None):
            return [self.unit, self.size, self.kwargs]
        spec = {"unit": self.unit, "size": self.size, "kwargs": self.kwargs}
        if self.bidirectional:
            spec["bidirectional"] = True
        for name in ("dropout", "recurrent_dropout"):
            if getattr(self, name) is not None:
                spec[name] = getattr(self, name)
        return spec


LAYER_KEYS = ("unit", "size", "kwargs", "bidirectional", "dropout", "recurrent_dropout")


def parse_layers(layers) -> list:
    """Normalise layer specs to :class:`LayerSpec` tuples.

    A spec is ``("gru", 64)``, ``("gru", 64, {"activation": "relu"})`` or a
    dict ``{"unit": "gru", "size": 64, "kwargs": {...}, "bidirectional": True,
    "dropout": 0.2, "recurrent_dropout": 0.1}`` (only unit and size required).
    """
    if isinstance(layers, (str, bytes)) or not layers:
        raise ValueError("layers must be a non-empty list like [('gru', 64), ('lstm', 32)]")
    parsed = []
    for i, spec in enumerate(layers):
        if isinstance(spec, LayerSpec):
            parsed.append(spec)
            continue
        if isinstance(spec, dict):
            unknown = sorted(set(spec) - set(LAYER_KEYS))
            if unknown or "unit" not in spec or "size" not in spec:
                raise ValueError(f"layer {i}: a dict spec has the keys unit and size, and optionally kwargs, "
                                 f"bidirectional, dropout and recurrent_dropout; got {sorted(spec)}")
            name, n_out, kwargs = spec["unit"], spec["size"], spec.get("kwargs", {})
            bidirectional = spec.get("bidirectional", False)
            if not isinstance(bidirectional, bool):
                raise TypeError(f"layer {i}: bidirectional must be True or False, got {bidirectional!r}")
            rates = [None if spec.get(key) is None else dropout_rate(spec[key], f"layer {i}: {key}")
                     for key in ("dropout", "recurrent_dropout")]
        elif isinstance(spec, (tuple, list)) and len(spec) in (2, 3):
            name, n_out, *rest = spec
            kwargs, bidirectional, rates = rest[0] if rest else {}, False, [None, None]
        else:
            raise ValueError(f"layer {i}: expected (unit_name, n_out), (unit_name, n_out, kwargs) or a dict, "
                             f"got {spec!r}")
        if not isinstance(kwargs, dict):
            raise TypeError(f"layer {i}: the unit's keyword arguments must be a dict, got {kwargs!r}")
        if not isinstance(name, str):
            raise TypeError(f"layer {i}: the unit name must be a string, got {name!r}")
        parsed.append(LayerSpec(name, positive_int(n_out, f"layer {i} size"), dict(kwargs), bidirectional, *rates))
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
        given = _rates(dropout, len(self.layers), "dropout"), _rates(recurrent_dropout, len(self.layers),
                                                                     "recurrent_dropout")
        self.dropout = [d if spec.dropout is None else spec.dropout for d, spec in zip(given[0], self.layers)]
        self.recurrent_dropout = [d if spec.recurrent_dropout is None else spec.recurrent_dropout
                                  for d, spec in zip(given[1], self.layers)]
        if isinstance(seed, bool) or not isinstance(seed, (int, np.integer, np.random.Generator)):
            raise TypeError(f"seed must be an integer or a numpy Generator, got {seed!r}")
        rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
        self.layer_units, self.params = [], {}
        n = self.n_in
        for i, spec in enumerate(self.layers):
            directions = ("", "backward.") if spec.bidirectional else ("",)
            layer = [self._unit(i, spec, n, rng, prefix) for prefix in directions]
            self.layer_units.append(layer)
            n = sum(unit.n_out for unit in layer)
        self.units = [unit for layer in self.layer_units for unit in layer]
        # How messages name each unit: "layer 1 (gru)", or "layer 1 (gru, backward)" in a bidirectional layer.
        self._where = [f"layer {i} ({unit.name}{', backward' if j else ''})"
                       for i, layer in enumerate(self.layer_units) for j, unit in enumerate(layer)]

    def _unit(self, i, spec, n_in, rng, prefix):
        try:
            unit = units.get(spec.unit)(n_in, spec.size, rng, **spec.kwargs)
        except TypeError as error:
            raise ValueError(f"layer {i} ({spec.unit}): {error}") from None
        for param_name, shared in unit.params.items():
            shared.name = f"layer{i}.{prefix}{param_name}"
            self.params[shared.name] = shared
        if self.recurrent_dropout[i] and not unit.recurrent_inputs:
            raise ValueError(f"layer {i} ({spec.unit}): recurrent_dropout needs a unit that lists its "
                             f"recurrent_inputs, and {type(unit).__name__} lists none (see docs/plugins.md)")
        return unit

    @property
    def n_out(self) -> int:
        """The size of the top layer's output (twice its units' for a bidirectional layer)."""
        return sum(unit.n_out for unit in self.layer_units[-1])

    @property
    def bidirectional(self) -> bool:
        """Whether a layer runs both ways (then the stack needs whole sequences: no step at a time)."""
        return any(spec.bidirectional for spec in self.layers)

    @property
    def dtype(self) -> str:
        """The parameters' dtype (floatX when the stack was built)."""
        return next(iter(self.params.values())).dtype

    def __repr__(self) -> str:
        layers = ", ".join(("bidirectional " if len(layer) == 2 else "") + repr(layer[0]) for layer in self.layer_units)
        return f"RecurrentStack(n_in={self.n_in}, layers=[{layers}])"

    # -- the graph -------------------------------------------------------------
    def symbolic(self, x, mask=None, initial=None, dropout_masks=None) -> graph.StackStates:
        """The stack over symbolic inputs ``x`` (T, B, n_in): the top layer's output and every unit's
        final states (:func:`aerann.graph.scan_stack`).

        ``initial`` is None or one entry per unit (a bidirectional layer has
        two, forward then backward); ``dropout_masks`` what
        :meth:`symbolic_dropout_masks` makes, or None for no dropout.
        """
        input_masks = recurrent_masks = None
        if dropout_masks:
            masks = iter(dropout_masks)
            input_masks = [next(masks) if rate else None for rate in self.dropout]
            recurrent_masks = [[[next(masks) for _ in unit.recurrent_inputs] for unit in layer] if rate else None
                               for layer, rate in zip(self.layer_units, self.recurrent_dropout)]
        layers = [tuple(layer) if len(layer) == 2 else layer[0] for layer in self.layer_units]
        result = graph.scan_stack(layers, x, mask, truncate_gradient=self.truncate_gradient,
                                  grad_clip=self.grad_clip, initial=self._per_layer(initial),
                                  input_masks=input_masks, recurrent_masks=self._grouped(recurrent_masks))
        # scan_stack lists a bidirectional layer's final states as one list: split it per unit.
        return graph.StackStates(result.output, nested_states(flat_states(result.final), self.units))

    def _per_layer(self, per_unit):
        """Entries given per unit, grouped per layer as :func:`aerann.graph.scan_stack` takes them."""
        if per_unit is None:
            return None
        per_unit = list(per_unit)
        if len(per_unit) != len(self.units):
            raise ValueError(f"initial states are given for {len(per_unit)} unit(s), but the stack has "
                             f"{len(self.units)}")
        grouped, start = [], 0
        for layer in self.layer_units:
            entries = per_unit[start : start + len(layer)]
            grouped.append(tuple(entries) if len(layer) == 2 else entries[0])
            start += len(layer)
        return grouped

    @staticmethod
    def _grouped(recurrent_masks):
        """Each layer's recurrent masks (a list per unit) as :func:`aerann.graph.scan_stack` takes them."""
        if recurrent_masks is None:
            return None
        return [None if layer is None else (tuple(layer) if len(layer) == 2 else layer[0])
                for layer in recurrent_masks]

    def symbolic_dropout_masks(self) -> list:
        """Symbolic inputs for the dropout masks, in the order :meth:`dropout_masks` draws them: each
        dropped layer's input mask (T, B, n_in), then each unit's recurrent masks (B, n_out)."""
        masks = [at.tensor3(f"layer{i}.input_mask", dtype=self.dtype) for i, rate in enumerate(self.dropout) if rate]
        for i, (layer, rate) in enumerate(zip(self.layer_units, self.recurrent_dropout)):
            if rate:
                masks += [at.matrix(f"layer{i}.{j}.{name}_mask", dtype=self.dtype)
                          for j, unit in enumerate(layer) for name in unit.recurrent_inputs]
        return masks

    def dropout_masks(self, rng, steps, batch) -> list:
        """New dropout masks for a minibatch of ``batch`` sequences of ``steps`` steps, drawn from
        ``rng``: each entry 0 with the layer's rate p, 1 / (1 - p) otherwise."""
        sizes = [self.n_in] + [sum(unit.n_out for unit in layer) for layer in self.layer_units[:-1]]
        masks = [_mask(rng, (steps, batch, n), rate, self.dtype) for n, rate in zip(sizes, self.dropout) if rate]
        for layer, rate in zip(self.layer_units, self.recurrent_dropout):
            if rate:
                masks += [_mask(rng, (batch, unit.n_out), rate, self.dtype)
                          for unit in layer for _ in unit.recurrent_inputs]
        return masks

    def symbolic_step(self, x_t, states):
        """One step of every layer outside any scan: the new states of every layer from the inputs
        ``x_t`` (B, n_in) of one step and every layer's ``states``."""
        if self.bidirectional:
            raise ValueError("a bidirectional layer needs the whole sequence: the stack cannot run a step at a time")
        new = []
        for unit, previous in zip(self.units, states):
            new.append(graph.step_layer(unit, x_t, previous))
            x_t = new[-1][0]
        return new

    def symbolic_states(self):
        """Symbolic matrices for every unit's states, shaped as :meth:`initial_states` returns them."""
        return [[at.matrix(f"layer{i}.{name}", dtype=self.dtype) for name in unit.states]
                for i, unit in enumerate(self.units)]

    # -- states -------------------------------------------------------------------
    def initial_states(self, count=1):
        """The learnable initial states for ``count`` sequences: for every unit (one per layer, two in a
        bidirectional layer: forward, backward), one (count, n_out) array per name in its ``states``."""
        count = positive_int(count, "count")
        return [[np.tile(h0.get_value(), (count, 1)) for h0 in unit.initial_states()] for unit in self.units]

    def check_states(self, states, count, name="initial states"):
        """``states`` as :meth:`initial_states` gives them for ``count`` sequences (copies in the
        parameters' dtype), or a ValueError naming the layer and state that do not fit."""
        if not isinstance(states, (list, tuple)) or len(states) != len(self.units):
            got = len(states) if isinstance(states, (list, tuple)) else type(states).__name__
            what = "unit(s): a bidirectional layer has two" if self.bidirectional else "layer(s)"
            raise ValueError(f"{name}: expected a list of {len(self.units)} {what}, got {got}")
        checked = []
        for unit, where, layer in zip(self.units, self._where, states):
            if not isinstance(layer, (list, tuple)) or len(layer) != len(unit.states):
                got = len(layer) if isinstance(layer, (list, tuple)) else type(layer).__name__
                raise ValueError(f"{name} of {where}: expected {len(unit.states)} state(s) {unit.states}, got {got}")
            arrays = []
            for state_name, value in zip(unit.states, layer):
                array = np.asarray(value)
                if array.shape != (count, unit.n_out) or array.dtype.kind not in "fiu":
                    raise ValueError(f"{name}: {state_name} of {where} must be a ({count}, {unit.n_out}) array of "
                                     f"numbers, got {array.dtype} {array.shape}")
                if not np.all(np.isfinite(array)):
                    raise ValueError(f"{name}: {state_name} of {where} holds NaN or infinite values")
                arrays.append(array.astype(self.dtype))
            checked.append(arrays)
        return checked

    # -- calling it -------------------------------------------------------------------
    def __call__(self, x, initial_states=None):
        """Run the stack over ``x`` (T, B, n_in): ``(outputs, final_states)``.

        ``outputs`` are the top layer's states (T, B, n_out) at every step;
        ``final_states`` every unit's states after the last step (a backward
        unit's: after step 0), shaped as ``initial_states``: None (the
        learnable initial states) or, for every unit, one (B, n_out) array
        per state.
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
        outputs, *final = function(x.astype(self.dtype), *flat_states(initial), *values)
        return outputs, nested_states(final, self.units)

    def structure(self) -> tuple:
        """What the stack's graph depends on: each unit's class, configuration and parameters' names and
        ranks, the dtype and the driver's settings; not the sizes."""
        layers = tuple(
            (type(unit), json.dumps(unit.config(), sort_keys=True),
             tuple((name, shared.ndim) for name, shared in unit.params.items()))
            for unit in self.units
        )
        directions = tuple(spec.bidirectional for spec in self.layers)
        return layers, directions, self.dtype, self.truncate_gradient, self.grad_clip  # dropout: training only

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
                outputs = [result.output, *flat_states(result.final)]
                function = compiler.function([x, *flat_states(states), *symbols], outputs,
                                             givens=list(zip(shared, symbols)))
            _COMPILED[key] = (function, names)
        return _COMPILED[key]


def flat_states(states):
    """Every unit's states in one list, unit after unit (the order of a compiled function's inputs)."""
    return [state for unit_states in states for state in unit_states]


def nested_states(flat, units):
    """States listed by :func:`flat_states`, grouped back per unit."""
    grouped, start = [], 0
    for unit in units:
        grouped.append(list(flat[start : start + len(unit.states)]))
        start += len(unit.states)
    return grouped


def _rates(value, count, name):
    """A dropout rate in [0, 1) for each of ``count`` layers, from one rate or a list of them."""
    values = list(value) if isinstance(value, (list, tuple)) else [value] * count
    if len(values) != count:
        raise ValueError(f"{name}: {len(values)} rates for {count} layer(s)")
    return [dropout_rate(rate, name) for rate in values]


def _mask(rng, shape, rate, dtype):
    return ((rng.random(shape) >= rate) / (1.0 - rate)).astype(dtype)


_COMPILED = {}  # RecurrentStack.structure() and backend -> (function, parameter names)
