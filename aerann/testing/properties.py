"""The properties a certified unit has, each a check of one drawn example.

The unit under test (the *subject*) is checked in three stacks (see
:data:`STACKS`), each a LanguageModel (embedding, the layers, softmax) on
sizes hypothesis draws: alone with full BPTT, alone truncated to the last
:data:`TRUNCATION` steps, and in the middle of every built-in unit,
``(elman, rated, unit, gru, lstm)``; a built-in unit at its defaults is
already among the others, so its stack is :data:`BUILTINS` itself (one
compiled stack serves all four).

Each check raises :class:`CheckFailed` naming the parameter, its shape and
the error, and records the worst relative error per parameter it compared.
A relative error is ``max |actual - expected| / (|expected| + floor)`` over
an array's entries, with ``floor`` the array's largest magnitude (so tiny
entries of a large gradient are judged against its scale) or, for a finite
difference, ``atol / rtol``; a check passes while it stays at most ``rtol``.
"""

import tempfile
from pathlib import Path

import aesara
import aesara.tensor as at
import numpy as np

from aerann import units
from aerann.backend import compiler
from aerann.models import LanguageModel
from aerann.reference.stack import loss_and_gradients
from aerann.testing.graphs import compiled, layer_specs, parameter_shapes
from aerann.testing.strategies import random_parameters

TRUNCATION = 2  # steps the truncated stack backpropagates through
STACKS = ("alone", "truncated", "among_builtins")
BUILTINS = ("elman", "rated", "gru", "lstm")
REFERENCE_RTOL = 1e-6  # Aesara's gradients against the NumPy reference, float64
FD_STEP, FD_RTOL, FD_ATOL = 1e-5, 1e-5, 1e-7  # central differences along a random direction per parameter
EXACT_RTOL = 1e-10  # what must not change at all: padding, masks of ones, truncation's definition, states
FLOAT32_RTOL = 1e-3  # float32 against float64, the gradient in norm
JAX_RTOL = 1e-9  # the JAX backend against the C backend, float64
JAX_BUCKET = (6, 3)  # steps, sequences: every JAX example is padded to this shape (one XLA program)
JAX_SIZES = (5, 3, (3, 2))  # vocabulary, embedding, hidden sizes of the JAX examples (fixed: one program)
TRAINING_STEPS, TRAINING_STEP_NORM = 5, 0.02


class CheckFailed(AssertionError):
    """A property does not hold on an example; the message says where."""


class Subject:
    """The unit under certification: its class, options, reference and the stacks it is checked in."""

    def __init__(self, name, unit_class, options, reference, source):
        self.name, self.unit_class, self.options = name, unit_class, dict(options)
        self.reference, self.source = reference, source
        config = unit_class(3, 2, np.random.default_rng(0), **self.options).config()
        self.layer = (name, tuple(sorted(config.items())))
        builtins = [(builtin, ()) for builtin in BUILTINS]
        among = builtins if self.layer in builtins else builtins[:2] + [self.layer] + builtins[2:]
        self.stacks = {
            "alone": ((self.layer,), -1),
            "truncated": ((self.layer,), TRUNCATION),
            "among_builtins": (tuple(among), -1),
        }

    def label(self, structure, name):
        """A parameter's row in the report: the subject's own by its name, the others grouped."""
        if not name.startswith("layer"):
            return name
        index, _, own = name.partition(".")
        layer = int(index[len("layer"):])
        position = structure.index(self.layer)
        return own if layer == position else "other layers"

    @property
    def display_name(self) -> str:
        """The unit's name with its options: ``lstm(peepholes='none')``."""
        options = ", ".join(f"{k}={v!r}" for k, v in self.options.items())
        return f"{self.name}({options})" if options else self.name

    def __str__(self):
        return f"{self.display_name} ({self.source})"


def relative_error(actual, expected, floor=None):
    """``max |actual - expected| / (|expected| + floor)``; floor defaults to the largest ``|expected|``."""
    actual, expected = np.asarray(actual, np.float64), np.asarray(expected, np.float64)
    if actual.shape != expected.shape:
        return np.inf
    if expected.size == 0:
        return 0.0
    if floor is None:
        floor = max(float(np.abs(expected).max()), 1e-12)
    with np.errstate(invalid="ignore"):
        error = float(np.max(np.abs(actual - expected) / (np.abs(expected) + floor)))
    return np.inf if np.isnan(error) else error


def compare(errors, label, actual, expected, rtol, what, floor=None):
    """Record the error of ``actual`` against ``expected`` under ``label``; CheckFailed over ``rtol``."""
    error = relative_error(actual, expected, floor)
    errors[label] = max(errors.get(label, 0.0), error)
    if error > rtol:
        shapes = f"shape {np.shape(expected)}" if np.shape(actual) == np.shape(expected) else (
            f"shape {np.shape(actual)}, expected {np.shape(expected)}")
        raise CheckFailed(f"{label} ({shapes}): {what}: relative error {error:.3g} > {rtol:g}")


def parameters_of(case):
    """The case's parameters (float64), drawn from its seed."""
    shapes = parameter_shapes(case.structure, case.vocab, case.embed, case.hidden)
    return random_parameters(np.random.default_rng(case.seed), shapes)


def evaluate(case, params=None, truncate_gradient=None, **batch):
    """(loss, gradients, final states) of the case's structure, on its batch unless given another."""
    f = compiled(case.structure, case.truncate_gradient if truncate_gradient is None else truncate_gradient)
    X, Y, mask = batch.get("X", case.X), batch.get("Y", case.Y), batch.get("mask", case.mask)
    return f(X, Y, mask, parameters_of(case) if params is None else params, batch.get("initial"))


def compare_results(subject, case, errors, ours, theirs, rtol, what):
    """Equal losses, gradients and (when both have them) final states."""
    (loss, grads, *finals), (other_loss, other_grads, *other_finals) = ours, theirs
    compare(errors, "loss", loss, other_loss, rtol, what)
    missing = set(other_grads) ^ set(grads)
    if missing:
        raise CheckFailed(f"{what}: the gradients of {sorted(missing)} are missing on one side")
    for name in other_grads:
        compare(errors, subject.label(case.structure, name), grads[name], other_grads[name], rtol, what)
    if finals and other_finals:
        for i, (layer, other_layer) in enumerate(zip(finals[0], other_finals[0])):
            for state, value, other in zip(subject_states(case, i), layer, other_layer):
                compare(errors, "final states", value, other, rtol, f"{what}: layer {i}'s final {state}")


def subject_states(case, layer):
    return units.get(case.structure[layer][0]).states


# -- the checks ------------------------------------------------------------------------------
def check_reference(subject, case, errors):
    """Aesara's loss and gradients equal the NumPy reference's (truncation included)."""
    params = parameters_of(case)
    ours = evaluate(case, params)
    reference = loss_and_gradients(case.X, case.Y, case.mask, params, layer_specs(case.structure, case.hidden),
                                   case.truncate_gradient)
    compare_results(subject, case, errors, ours[:2], reference, REFERENCE_RTOL,
                    "Aesara's gradient against the NumPy reference")


def check_finite_differences(subject, case, errors):
    """Each parameter's gradient, projected on a random direction, equals the loss's derivative along it.

    The derivative is Richardson's extrapolation of central differences at
    steps h and h/2, (4 D(h/2) - D(h)) / 3, whose error falls as h**4
    instead of h**2: steep units (a layer norm over two features, say) need it.
    """
    params = parameters_of(case)
    _, grads, _ = evaluate(case, params)
    rng = np.random.default_rng(case.seed + 1)

    def central(name, value, direction, h):
        plus = evaluate(case, {**params, name: value + h * direction})[0]
        minus = evaluate(case, {**params, name: value - h * direction})[0]
        return (plus - minus) / (2 * h)

    for name, value in params.items():
        direction = rng.normal(size=value.shape)
        numeric = (4 * central(name, value, direction, FD_STEP / 2) - central(name, value, direction, FD_STEP)) / 3
        compare(errors, subject.label(case.structure, name), np.sum(grads[name] * direction), numeric, FD_RTOL,
                f"the gradient along a random direction against the extrapolated central differences of the loss "
                f"(steps {FD_STEP:g} and {FD_STEP / 2:g})", floor=FD_ATOL / FD_RTOL)


def check_truncation(subject, case, errors):
    """Truncated BPTT is full BPTT of the last steps started from the earlier steps' states.

    With ``truncate_gradient = k`` and T > k steps, every recurrent layer's
    parameters and the embedding get the gradient of the loss of steps
    T-k .. T-1 computed from the states at step T-k-1 taken as constants;
    the output layer gets the gradient of the whole loss; the learnable
    initial states get none.
    """
    params = parameters_of(case)
    cut = case.X.shape[0] - case.truncate_gradient
    loss, grads, _ = evaluate(case, params)
    full_loss, full, _ = evaluate(case, params, truncate_gradient=-1)
    _, _, before = evaluate(case, params, truncate_gradient=-1, X=case.X[:cut], Y=case.Y[:cut], mask=case.mask[:cut])
    _, after, _ = evaluate(case, params, truncate_gradient=-1, X=case.X[cut:], Y=case.Y[cut:], mask=case.mask[cut:],
                           initial=before)
    compare(errors, "loss", loss, full_loss, EXACT_RTOL, "the truncated loss against the full one")
    for name, grad in grads.items():
        label = subject.label(case.structure, name)
        if name.startswith("output."):
            compare(errors, label, grad, full[name], EXACT_RTOL, "the output layer's truncated gradient against "
                    "full BPTT's")
        elif name in after:
            compare(errors, label, grad, after[name], EXACT_RTOL, f"the truncated gradient against full BPTT over "
                    f"the last {case.truncate_gradient} steps from the earlier steps' states")
        elif np.any(grad != 0):
            raise CheckFailed(f"{label} ({np.shape(grad)}): a learnable initial state gets a gradient through "
                              "a truncated scan")


def check_padding(subject, case, errors):
    """Padded steps and an all-padding sequence, filled with any tokens, change nothing."""
    params = parameters_of(case)
    rng = np.random.default_rng(case.seed + 2)
    (T, B), extra = case.X.shape, 1 + case.seed % 3
    X = rng.integers(case.vocab, size=(T + extra, B + 1)).astype(np.int32)
    Y = rng.integers(case.vocab, size=(T + extra, B + 1)).astype(np.int32)
    X[:T, :B], Y[:T, :B] = case.X, case.Y
    mask = np.zeros((T + extra, B + 1))
    mask[:T, :B] = case.mask
    loss, grads, finals = evaluate(case, params, X=X, Y=Y, mask=mask)
    ours = loss, grads, [[state[:B] for state in layer] for layer in finals]
    compare_results(subject, case, errors, ours, evaluate(case, params), EXACT_RTOL,
                    f"{extra} padded steps and a padded sequence against none")


def check_ones_mask(subject, case, errors):
    """A mask of ones gives what no mask gives: the loss and the final states."""
    params = parameters_of(case)
    ones = np.ones(case.X.shape)
    loss, _, finals = evaluate(case, params, mask=ones)
    unmasked = compiled(case.structure, case.truncate_gradient, masked=False)(case.X, case.Y, ones, params)
    compare_results(subject, case, errors, (loss, {}, finals), unmasked, EXACT_RTOL, "a mask of ones against no mask")


def check_final_states(subject, case, errors):
    """Each sequence's final states are its states after its last real step: those of the sequence
    run alone over its real steps (the initial states where it has none)."""
    params = parameters_of(case)
    _, _, finals = evaluate(case, params)
    for b in range(case.X.shape[1]):
        real = case.mask[:, b] > 0
        if real.any():
            X, Y = case.X[real, b:b + 1], case.Y[real, b:b + 1]
            _, _, alone = evaluate(case, params, X=X, Y=Y, mask=np.ones(X.shape))
        else:
            alone = [[params[f"layer{i}.{state}0"][None] for state in subject_states(case, i)]
                     for i in range(len(case.structure))]
        for i, (layer, expected) in enumerate(zip(finals, alone)):
            for state, value, other in zip(subject_states(case, i), layer, expected):
                compare(errors, "final states", value[b:b + 1], other, EXACT_RTOL,
                        f"sequence {b}'s final {state} of layer {i} against the sequence run alone")


def check_training_and_files(subject, case, errors):
    """Among every built-in unit, a few gradient steps lower the loss, and the trained model saved and
    loaded again computes the same loss and final states, bit for bit."""
    params = parameters_of(case)
    losses = []
    for _ in range(TRAINING_STEPS + 1):
        loss, grads, _ = evaluate(case, params)
        losses.append(loss)
        norm = np.sqrt(sum(float(np.sum(g * g)) for g in grads.values()))
        if not np.isfinite(norm) or norm == 0:
            raise CheckFailed(f"training: the gradient's norm is {norm} at loss {loss:.6g}")
        params = {name: value - TRAINING_STEP_NORM * grads[name] / norm for name, value in params.items()}
    if not losses[-1] < losses[0]:
        raise CheckFailed(f"training: {TRAINING_STEPS} steps down the gradient took the loss from {losses[0]:.6g} "
                          f"to {losses[-1]:.6g}")
    model = LanguageModel(case.vocab, case.embed, layers=layer_specs(case.structure, case.hidden))
    model.set_parameter_values(params)
    with tempfile.TemporaryDirectory() as folder:
        path = model.save(Path(folder) / "model.npz")
        loaded = LanguageModel.load(path)
    if loaded.config() != model.config():
        raise CheckFailed(f"save and load: the configuration {model.config()} came back as {loaded.config()}")
    values = loaded.parameter_values()
    for name, value in params.items():
        if not np.array_equal(values[name], value.astype(values[name].dtype)):
            raise CheckFailed(f"{subject.label(case.structure, name)} ({value.shape}): changed by save and load")
    compare_results(subject, case, errors, evaluate(case, values), evaluate(case, params), 0.0,
                    "the loaded model against the saved one")


def check_float32(subject, case, errors):
    """In float32 everything is computed in float32, and the loss, the final states and the gradient
    (all parameters' together, in norm) are float64's up to rounding."""
    params = parameters_of(case)
    loss, grads, finals = evaluate(case, params)
    with aesara.config.change_flags(floatX="float32"):
        loss32, grads32, finals32 = evaluate(case, params)
    for name, grad in grads32.items():
        if grad.dtype != np.float32:
            raise CheckFailed(f"{subject.label(case.structure, name)}: its gradient is {grad.dtype} in float32")
    compare_results(subject, case, errors, (loss32, {}, finals32), (loss, {}, finals), FLOAT32_RTOL,
                    "float32 against float64")
    names = sorted(grads)
    flat = np.concatenate([grads[name].ravel() for name in names])
    flat32 = np.concatenate([grads32[name].ravel() for name in names]).astype(np.float64)
    error = float(np.linalg.norm(flat32 - flat) / max(np.linalg.norm(flat), 1e-12))
    errors["gradient (norm)"] = max(errors.get("gradient (norm)", 0.0), error)
    if not error <= FLOAT32_RTOL:
        worst = max(names, key=lambda name: np.linalg.norm(grads32[name] - grads[name]))
        raise CheckFailed(f"the gradient in float32 differs from float64's by {error:.3g} of its norm (> "
                          f"{FLOAT32_RTOL:g}); most in {subject.label(case.structure, worst)} "
                          f"({grads[worst].shape})")


def check_jax(subject, case, errors):
    """On the JAX backend, the loss, gradients and final states equal the C backend's (batches padded
    to one bucket shape, as aerann's training pads them)."""
    params = parameters_of(case)
    (T, B), shape = case.X.shape, JAX_BUCKET
    X, Y, mask = np.zeros(shape, np.int32), np.zeros(shape, np.int32), np.zeros(shape)
    X[:T, :B], Y[:T, :B], mask[:T, :B] = case.X, case.Y, case.mask
    with compiler.backend("c"):
        expected = evaluate(case, params)
    with compiler.backend("jax"):
        loss, grads, finals = evaluate(case, params, X=X, Y=Y, mask=mask)
    ours = loss, grads, [[state[:B] for state in layer] for layer in finals]
    compare_results(subject, case, errors, ours, expected, JAX_RTOL, "the JAX backend against the C backend")


def check_contract(subject, errors):
    """The unit builds, its step returns one (B, n_out) state per name in ``states``, and its reference
    (if any) takes its options, has its parameters and states, and computes its step."""
    n_in, n_out, batch = 3, 2, 2
    where = str(subject)
    try:
        unit = subject.unit_class(n_in, n_out, np.random.default_rng(0), **subject.options)
    except Exception as error:
        raise CheckFailed(f"{where}: building the unit raised {type(error).__name__}: {error}") from None
    rng = np.random.default_rng(0)
    for name, shared in unit.params.items():
        value = shared.get_value()
        if value.dtype != aesara.config.floatX:
            raise CheckFailed(f"{where}: parameter {name} is {value.dtype}, not floatX ({aesara.config.floatX})")
        shared.set_value((rng.normal(size=value.shape) * 0.5).astype(value.dtype))
    x = at.matrix("x")
    states = [at.matrix(state) for state in unit.states]
    try:
        new = unit.step(x, *states)
    except Exception as error:
        raise CheckFailed(f"{where}: step(x_t, {', '.join(unit.states)}) raised {type(error).__name__}: "
                          f"{error}") from None
    new = list(new) if isinstance(new, (list, tuple)) else [new]
    if len(new) != len(unit.states):
        raise CheckFailed(f"{where}: step returns {len(new)} state(s), but the unit's states are {unit.states}")
    inputs = [rng.normal(size=(batch, n_in))] + [rng.normal(size=(batch, n_out)) for _ in unit.states]
    try:
        step = aesara.function([x, *states], new, mode="FAST_COMPILE", on_unused_input="ignore")
        values = step(*inputs)
    except Exception as error:
        raise CheckFailed(f"{where}: evaluating step on a batch of {batch} raised {type(error).__name__}: "
                          f"{str(error).splitlines()[0] if str(error) else ''}") from None
    for state, value in zip(unit.states, values):
        if np.shape(value) != (batch, n_out):
            raise CheckFailed(f"{where}: step returns {state} of shape {np.shape(value)} for {batch} rows of "
                              f"n_in={n_in}, n_out={n_out}; expected {(batch, n_out)}")
    if subject.reference is not None:
        check_reference_contract(subject, unit, inputs, values, errors)


def check_reference_contract(subject, unit, inputs, values, errors):
    """The reference's constructor, shapes, forward and backward keep the contract of aerann.reference."""
    reference_name = f"the NumPy reference {subject.reference.__module__}.{subject.reference.__qualname__}"
    where = f"{subject}: {reference_name}"
    try:
        reference = subject.reference(**unit.config())
        shapes = dict(reference.shapes(unit.n_in, unit.n_out))
    except Exception as error:
        raise CheckFailed(f"{where} does not build with the unit's options {unit.config()} or has no "
                          f"shapes(n_in, n_out): {type(error).__name__}: {error}") from None
    own = {name: p.get_value().shape for name, p in unit.params.items()}
    if {k: tuple(v) for k, v in shapes.items()} != own:
        raise CheckFailed(f"{where}: shapes(n_in, n_out) gives {shapes}, the unit's parameters are {own}")
    if tuple(getattr(reference, "states", ())) != tuple(unit.states):
        raise CheckFailed(f"{where}: its states are {getattr(reference, 'states', None)}, the unit's {unit.states}")
    p = {name: shared.get_value().astype(np.float64) for name, shared in unit.params.items()}
    try:
        new, cache = reference.forward(p, *inputs)
        dx, d_prev, dparams = reference.backward(p, cache, *[np.ones_like(v) for v in new])
    except Exception as error:
        raise CheckFailed(f"{where}: forward(p, x, {', '.join(unit.states)}) -> (states, cache) and backward(p, "
                          f"cache, {', '.join('d' + s for s in unit.states)}) -> (dx, d_states, d_params) failed: "
                          f"{type(error).__name__}: {error}") from None
    for state, value, expected in zip(unit.states, new, values):
        compare(errors, "reference step", value, expected, EXACT_RTOL, f"{reference_name}'s new {state} against the "
                "unit's step")
    if np.shape(dx) != np.shape(inputs[0]) or len(d_prev) != len(unit.states):
        raise CheckFailed(f"{where}: backward returns dx of shape {np.shape(dx)} and {len(d_prev)} state "
                          f"gradient(s); expected {np.shape(inputs[0])} and {len(unit.states)}")
    learned = {name for name in own if name not in {f"{state}0" for state in unit.states}}
    if set(dparams) != learned:
        raise CheckFailed(f"{where}: backward gives the gradients of {sorted(dparams)}, the unit's parameters "
                          f"besides its initial states are {sorted(learned)}")
