"""Learning-rate schedules, from one registry: what the learning rate becomes after each epoch.

A schedule sees, after every epoch, the loss it watches (the validation
loss when there is validation data, else the epoch's training loss) and
returns the learning rate of the next epoch:

- ``none``: the rate stays as it is;
- ``halve-on-rise`` (the tutorial's): halve it when the loss rose above the
  previous epoch's;
- ``plateau``: divide it by ``factor`` after ``patience`` epochs in a row
  without a loss below the best so far (PyTorch's word_language_model divides
  by 4 after every epoch that does not improve: ``factor=4, patience=1``);
- ``step``: divide it by ``factor`` every ``every`` epochs.

A schedule's memory (the previous or best loss, the epochs counted) is a
small JSON dict (:meth:`Schedule.state`), so a checkpoint holds it and a
resumed run continues the schedule exactly.
"""

from aerann.data.validation import positive_int
from aerann.training.optim import Option


class Schedule:
    """The learning-rate schedule ``name`` with its checked ``options``; see the module's docs."""

    name = "none"
    options = {}  # option name -> its Option (a number) or its default (a positive count)
    memory_names = ()

    def __init__(self, **options):
        self.settings = options
        self.memory = {}

    def next_rate(self, rate: float, loss: float) -> float:
        """The learning rate of the next epoch, after an epoch trained at ``rate`` that ended with ``loss``."""
        return rate

    def state(self) -> dict:
        return dict(self.memory)

    def load(self, state: dict) -> None:
        """Continue from a :meth:`state` (read back from a checkpoint)."""
        if not isinstance(state, dict) or set(state) - set(self.memory_names):
            raise ValueError(f"not a state of the schedule {self.name}: {state!r}")
        self.memory = dict(state)


class HalveOnRise(Schedule):
    name = "halve-on-rise"
    memory_names = ("previous",)

    def next_rate(self, rate, loss):
        previous = self.memory.get("previous")
        self.memory["previous"] = loss
        return rate * 0.5 if previous is not None and loss > previous else rate


class Plateau(Schedule):
    name = "plateau"
    options = {"factor": Option(4.0, low=1.0), "patience": 1}
    memory_names = ("best", "waited")

    def next_rate(self, rate, loss):
        best = self.memory.get("best")
        if best is None or loss < best:
            self.memory.update(best=loss, waited=0)
            return rate
        self.memory["waited"] = self.memory.get("waited", 0) + 1
        if self.memory["waited"] >= self.settings["patience"]:
            self.memory["waited"] = 0
            return rate / self.settings["factor"]
        return rate


class Step(Schedule):
    name = "step"
    options = {"factor": Option(2.0, low=1.0), "every": 5}
    memory_names = ("epochs",)

    def next_rate(self, rate, loss):
        self.memory["epochs"] = self.memory.get("epochs", 0) + 1
        return rate / self.settings["factor"] if self.memory["epochs"] % self.settings["every"] == 0 else rate


REGISTRY = {schedule.name: schedule for schedule in (Schedule, HalveOnRise, Plateau, Step)}
SCHEDULES = tuple(REGISTRY)


def check_options(name, given) -> dict:
    """Every option of the schedule ``name``, the given ones checked, the others at their defaults."""
    if name not in REGISTRY:
        raise ValueError(f"unknown schedule {name!r}: choose one of {', '.join(SCHEDULES)}")
    known = REGISTRY[name].options
    given = dict(given or {})
    unknown = sorted(set(given) - set(known))
    if unknown:
        raise ValueError(f"the schedule {name} has no option {unknown[0]!r} (its options: {', '.join(known) or 'none'})")
    checked = {}
    for option, default in known.items():
        value = given.get(option, default.default if isinstance(default, Option) else default)
        if isinstance(default, Option):
            checked[option] = default.check(value, f"{option} ({name})")
        else:
            checked[option] = positive_int(value, f"{option} ({name})")
    return checked


def build(name, **options) -> Schedule:
    """A fresh schedule ``name`` (one of :data:`SCHEDULES`) with its options checked."""
    checked = check_options(name, options)
    return REGISTRY[name](**checked)
