"""Certification: every property of :mod:`aerann.testing.properties` run on one unit, with hypothesis.

:func:`certify` returns a :class:`Certificate`: for each property, passed,
failed (with the message and hypothesis's shrunk example) or not
applicable (no NumPy reference, JAX not asked for or not installed), and
the worst relative error per parameter.  Nothing it checks escapes as an
exception: a unit that cannot be found, built or stepped fails the first
property ("contract") with a message naming the unit and its plugin, and
the other properties are then not run.
"""

import contextlib
import importlib.util
from typing import Callable, NamedTuple, Optional

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aerann import units
from aerann.testing import properties as p
from aerann.testing.strategies import cases
from aerann.units.registry import problem_with

DEFAULT_EXAMPLES = 20


class Property(NamedTuple):
    """One certified property: its id (pytest's and the command's), what it says and its tolerance.

    ``stacks`` are the subject's stacks it draws examples on (none: it is
    checked once, not on drawn examples), ``cases`` the options of
    :func:`aerann.testing.strategies.cases` for all of them, and
    ``per_stack`` more options for some.
    """

    id: str
    title: str
    tolerance: str
    check: Callable
    stacks: tuple = ()
    cases: dict = {}
    per_stack: dict = {}
    applies: Callable = lambda subject, jax: ""  # why the property does not apply, or ""
    examples: Optional[int] = None  # at most this many examples, whatever is asked

    def strategy(self, subject, stacks):
        """Cases on the property's stacks that are among ``stacks``."""
        return st.one_of([cases([subject.stacks[name]], **{**self.cases, **self.per_stack.get(name, {})})
                          for name in self.stacks if name in stacks])


def _no_reference(subject, jax):
    return "" if subject.reference is not None else "no NumPy reference registered"


def _no_jax(subject, jax):
    if not jax:
        return "not asked for (--jax)"
    return "" if importlib.util.find_spec("jax") else "JAX is not installed"


_JAX_CASES = {"max_steps": p.JAX_BUCKET[0], "max_batch": p.JAX_BUCKET[1], "sizes": p.JAX_SIZES}
PROPERTIES = (
    Property("contract", "builds; step returns its states; the reference keeps its contract",
             f"reference step {p.EXACT_RTOL:g}", p.check_contract),
    Property("reference", "gradients equal the NumPy reference's (alone, truncated, among built-ins)",
             f"rtol {p.REFERENCE_RTOL:g}", p.check_reference, ("alone", "truncated", "among_builtins"),
             applies=_no_reference),
    Property("finite_differences", "gradients equal finite differences (alone, among built-ins)",
             f"rtol {p.FD_RTOL:g}, atol {p.FD_ATOL:g}, steps {p.FD_STEP:g} and {p.FD_STEP / 2:g}", p.check_finite_differences,
             ("alone", "among_builtins"), {"max_steps": 4}),
    Property("truncation", f"truncate_gradient={p.TRUNCATION} is full BPTT of the last steps from earlier states",
             f"rtol {p.EXACT_RTOL:g}", p.check_truncation, ("truncated",), {"min_steps": p.TRUNCATION + 1}),
    Property("padding", "padded steps and sequences change nothing", f"rtol {p.EXACT_RTOL:g}", p.check_padding,
             ("alone",)),
    Property("ones_mask", "a mask of ones equals no mask", f"rtol {p.EXACT_RTOL:g}", p.check_ones_mask,
             ("alone",)),
    Property("final_states", "final states are those at each sequence's last real step", f"rtol {p.EXACT_RTOL:g}",
             p.check_final_states, ("alone", "among_builtins")),
    Property("stack_train_save", "among every built-in unit: trains, saves and loads",
             "loss falls; identical after loading", p.check_training_and_files, ("among_builtins",), examples=5),
    Property("float32", "float32 equals float64 (the gradient in norm)", f"rtol {p.FLOAT32_RTOL:g}", p.check_float32,
             ("alone",)),
    Property("jax", "the JAX backend equals the C backend (alone, truncated)", f"rtol {p.JAX_RTOL:g}", p.check_jax,
             ("alone", "truncated"), _JAX_CASES, {"truncated": {"min_steps": p.JAX_BUCKET[0]}}, _no_jax, 5),
)
PROPERTY_IDS = tuple(prop.id for prop in PROPERTIES)


class Outcome(NamedTuple):
    """What one property came to: status "passed", "failed", "not run" (after a failed contract) or "n/a"."""

    property: Property
    status: str
    message: str = ""
    example: str = ""
    errors: dict = {}

    @property
    def failed(self) -> bool:
        return self.status in ("failed", "not run")


class Certificate(NamedTuple):
    """The outcomes of every property for one unit."""

    unit: str
    source: str
    outcomes: list

    @property
    def passed(self) -> bool:
        """No property failed (properties that do not apply are not failures, and are reported)."""
        return not any(outcome.failed for outcome in self.outcomes)

    def table(self) -> str:
        """The report: a line per property, then the worst relative error per parameter, then the failures."""
        lines = [f"certification of {self.unit} ({self.source})", ""]
        width = max(len(prop.id) for prop in PROPERTIES)
        for outcome in self.outcomes:
            status = {"passed": "PASS", "failed": "FAIL", "n/a": "n/a ", "not run": "----"}[outcome.status]
            why = f"  [{outcome.message}]" if outcome.status in ("n/a", "not run") else ""
            lines.append(f"  {status}  {outcome.property.id:<{width}}  {outcome.property.title} "
                         f"({outcome.property.tolerance}){why}")
        worst = {}
        for outcome in self.outcomes:
            for label, error in outcome.errors.items():
                worst.setdefault(label, {})[outcome.property.id] = error
        if worst:
            columns = [o.property.id for o in self.outcomes if any(o.property.id in w for w in worst.values())]
            label_width = max(len(label) for label in worst)
            widths = [max(len(c), 8) for c in columns]
            lines += ["", "  worst relative error per parameter (- : not compared by that property):",
                      "  " + " " * label_width + "".join(f"  {c:>{w}}" for c, w in zip(columns, widths))]
            for label in sorted(worst, key=_row_order):
                cells = [f"{worst[label][c]:.1e}" if c in worst[label] else "-" for c in columns]
                lines.append(f"  {label:<{label_width}}" + "".join(f"  {x:>{w}}" for x, w in zip(cells, widths)))
        for outcome in self.outcomes:
            if outcome.status == "failed":
                lines += ["", f"  FAILED {outcome.property.id}: {outcome.message}"]
                if outcome.example:
                    lines.append(f"    smallest failing example: {outcome.example}")
        return "\n".join(lines)


def _row_order(label):
    first = {"loss": 0, "final states": 1, "reference step": 1, "gradient (norm)": 1, "embedding": 3,
             "other layers": 4, "output.W": 5, "output.b": 6}
    return first.get(label, 2), label


@contextlib.contextmanager
def registered(unit_class, reference=None):
    """``unit_class`` (and ``reference``, when given) in the registry for the duration, whatever was there."""
    registry = units.registry()
    name = unit_class.name
    tables = [registry.units, registry.sources] + ([registry.references] if reference is not None else [])
    previous = [table.get(name) for table in tables]
    if registry.units.get(name) is not unit_class:
        registry.units[name], registry.sources[name] = unit_class, f"{unit_class.__module__}.{unit_class.__qualname__}"
    if reference is not None:
        registry.references[name] = reference
    try:
        yield
    finally:
        for table, value in zip(tables, previous):
            if value is None:
                table.pop(name, None)
            else:
                table[name] = value


def subject_of(unit, options=None, reference=None):
    """(Subject, None), or (None, why not) for a unit name or class that cannot be certified."""
    options = dict(options or {})
    if isinstance(unit, str):
        try:
            unit_class = units.get(unit)
        except ValueError as error:
            return None, str(error)
        source = units.sources().get(unit, "unknown")
    elif isinstance(unit, type) and issubclass(unit, units.RecurrentUnit):
        problem = problem_with(unit)
        if problem:
            return None, f"{unit.__module__}.{unit.__qualname__} cannot be registered: {problem}"
        unit_class = unit
        registered_here = units.registry().units.get(unit.name) is unit
        source = units.sources()[unit.name] if registered_here else f"{unit.__module__}.{unit.__qualname__}"
    else:
        return None, f"expected a unit name or a RecurrentUnit subclass, got {unit!r}"
    try:
        return p.Subject(unit_class.name, unit_class, options, reference or units.reference(unit_class.name),
                         source), None
    except Exception as error:
        return None, f"{unit_class.name} ({source}): building it with options {options} raised " \
                     f"{type(error).__name__}: {error}"


def run_property(prop, subject, examples, jax=False, stacks=p.STACKS) -> Outcome:
    """One property's outcome on ``subject``, on up to ``examples`` drawn examples on ``stacks``."""
    if subject is None:
        return Outcome(prop, "not run", "not run: the contract failed")
    reason = prop.applies(subject, jax)
    if prop.stacks and not set(prop.stacks) & set(stacks):
        reason = f"its stacks ({', '.join(prop.stacks)}) are not among those checked"
    if reason:
        return Outcome(prop, "n/a", reason)
    errors, failing = {}, []
    if not prop.stacks:
        try:
            prop.check(subject, errors)
        except p.CheckFailed as error:
            return Outcome(prop, "failed", str(error), errors=errors)
        return Outcome(prop, "passed", errors=errors)

    @settings(max_examples=min(examples, prop.examples or examples), deadline=None, database=None,
              suppress_health_check=list(HealthCheck), report_multiple_bugs=False)
    @given(prop.strategy(subject, stacks))
    def check(case):
        try:
            prop.check(subject, case, errors)
        except Exception:
            failing[:] = [case]  # the last failing case hypothesis tries is the shrunk one it reports
            raise

    try:
        check()
    except p.CheckFailed as error:
        return Outcome(prop, "failed", str(error), _described(failing), errors)
    except Exception as error:  # the unit's graph failed to build or run on this example
        message = str(error).strip().splitlines()
        return Outcome(prop, "failed", f"{subject}: {type(error).__name__}: {message[0] if message else ''}",
                       _described(failing), errors)
    return Outcome(prop, "passed", errors=errors)


def _described(failing):
    return failing[-1].describe() if failing else ""


def certify(unit, examples=DEFAULT_EXAMPLES, jax=False, options=None, reference=None, only=None,
            stacks=p.STACKS, progress=None) -> Certificate:
    """Certify a unit, by registered name or by class: every property, on ``examples`` examples each.

    ``options`` are the unit's keyword options (``{"peepholes": "none"}``),
    ``reference`` a NumPy reference class to use instead of the registered
    one, ``only`` a list of property ids, ``stacks`` the stacks examples
    are drawn on (:data:`aerann.testing.properties.STACKS`: a unit alone
    only, say, for a quicker check), ``jax=True`` adds the JAX backend's
    check, and ``progress(property_id)`` is called before each property
    runs.
    """
    if isinstance(examples, bool) or not isinstance(examples, int) or examples < 1:
        raise ValueError(f"examples must be a positive integer, got {examples!r}")
    unknown_stacks = set(stacks) - set(p.STACKS)
    if unknown_stacks or not stacks:
        raise ValueError(f"stacks must be some of {', '.join(p.STACKS)}, got {stacks!r}")
    selected = [prop for prop in PROPERTIES if only is None or prop.id in only]
    unknown = set(only or ()) - set(PROPERTY_IDS)
    if unknown:
        raise ValueError(f"unknown properties {sorted(unknown)}: choose from {', '.join(PROPERTY_IDS)}")
    subject, problem = subject_of(unit, options, reference)
    name = getattr(unit, "name", unit) if not isinstance(unit, str) else unit
    if subject is None:
        outcomes = [Outcome(PROPERTIES[0], "failed", problem)]
        outcomes += [run_property(prop, None, examples) for prop in selected if prop.id != "contract"]
        return Certificate(str(name), "not certified", outcomes)
    outcomes = []
    with registered(subject.unit_class, reference):
        for prop in [PROPERTIES[0]] + [prop for prop in selected if prop.id != "contract"]:
            if progress is not None:
                progress(prop.id)
            contract_failed = outcomes and outcomes[0].failed
            outcomes.append(run_property(prop, None if contract_failed else subject, examples, jax, stacks))
    if only is not None and "contract" not in only:
        outcomes = outcomes[1:] if not outcomes[0].failed else outcomes
    return Certificate(subject.display_name, subject.source, outcomes)
