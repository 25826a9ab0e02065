"""The training options, checked in one place for ``fit``, ``fit_stream``, training runs and the command line.

Each bad value gets one message, worded the same wherever it was given, and
the check runs before anything is compiled, read or written.
"""

from dataclasses import dataclass

from aerann.data.validation import finite_float, positive_int
from aerann.training import optim, schedules


@dataclass(frozen=True)
class TrainingSettings:
    """Checked training options.

    ``options`` are the optimizer options as given (its defaults fill in the
    rest when the step is built), sorted, so that equal settings make one
    compiled training step; ``schedule_options`` are all of the schedule's.
    """

    learning_rate: float
    optimizer: str
    options: tuple
    reg: float
    clip: float | None
    schedule: str
    schedule_options: tuple
    patience: int | None

    @property
    def step_key(self) -> tuple:
        """What picks the compiled training step: (optimizer, options, reg, clip)."""
        return (self.optimizer, self.options, self.reg, self.clip)

    def new_schedule(self) -> schedules.Schedule:
        return schedules.build(self.schedule, **dict(self.schedule_options))


def check(learning_rate=0.01, optimizer="sgd", options=None, reg=0.0, clip=None, schedule="none",
          schedule_options=None, patience=None) -> TrainingSettings:
    """The checked settings, or a ValueError / TypeError naming the bad value (and, for a name, the choices)."""
    learning_rate = finite_float(learning_rate, "the learning rate")
    if learning_rate <= 0:
        raise ValueError(f"the learning rate must be positive, got {learning_rate:g}")
    options = dict(options or {})
    optim.get(optimizer).check_options(options)
    for name, value in options.items():
        options[name] = float(value)
    reg = finite_float(reg, "reg (the L2 weight)")
    if reg < 0:
        raise ValueError(f"reg (the L2 weight) must not be negative, got {reg:g}")
    if clip is not None:
        clip = finite_float(clip, "clip (the maximum gradient norm)")
        if clip <= 0:
            raise ValueError(f"clip (the maximum gradient norm) must be positive, got {clip:g}")
    schedule_options = schedules.check_options(schedule, schedule_options)
    if patience is not None:
        patience = positive_int(patience, "patience")
    return TrainingSettings(learning_rate, optimizer, tuple(sorted(options.items())), reg, clip, schedule,
                            tuple(sorted(schedule_options.items())), patience)
