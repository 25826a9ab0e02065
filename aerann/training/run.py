"""Training runs you can watch, stop and resume without losing work.

:func:`train` drives any model (LanguageModel, SequenceTagger,
SequenceClassifier) minibatch by minibatch with the model's own compiled
training step, and keeps everything in one run folder::

    OUT/
      run.json                  the run's settings (and the command that started it)
      metrics.jsonl             one JSON record per line: compile time, training loss, lr,
                                tokens/s, validation loss per epoch, rollbacks, checkpoints
      checkpoints/checkpoint-00000120.npz   the last ``keep`` checkpoints
      model.npz                 the trained model (RecurrentModel.load reads it)
      best.npz                  the model of the epoch with the lowest validation loss
      loss.png                  training and validation loss (needs matplotlib)
      .lock                     held (flock) while a process trains here

Checkpoints are written atomically (a temporary file, then a rename), the
first one before the first step, so a process killed at any moment, SIGKILL
included, leaves a whole checkpoint to resume from and no half files.  A
checkpoint holds the parameters, everything the loop remembers (the optimizer's
state, the schedule's memory, the best parameters, a stream's carried states),
the learning rate, the random generator's state and the position in the
epoch's minibatch order, so ``train(..., resume=True)`` continues exactly: the
resumed run ends with the same parameters, bit for bit, as one that was never
stopped.  Ctrl-C finishes the current step, saves a checkpoint and raises
:class:`Interrupted`.

The loop is :class:`aerann.training.engine.Trainer`'s, the same as ``fit``'s: a
step whose loss is NaN or infinite is undone and retried at half the
learning rate (``max_failures`` failures in a row stop the run with
:class:`TrainingError`, after saving the last good state), the schedule
sets each epoch's learning rate, ``patience`` stops early; here the model of
the epoch with the lowest validation loss is also written to ``best.npz``.
:func:`train_stream` is the same for a language model on one token stream.
"""

import hashlib
import json
import math
import os
import signal
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path

import numpy as np

from aerann.backend.devices import check as device_count, writes_files
from aerann.data import files
from aerann.data.validation import finite_float, positive_int
from aerann.training import engine
from aerann.training import settings as training_settings
from aerann.training.engine import Interrupted, TrainingError  # noqa: F401 (part of this module's API)

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
MODEL_FILE = "model.npz"
BEST_FILE = "best.npz"
PLOT_FILE = "loss.png"
CHECKPOINT_DIR = "checkpoints"
LOCK_FILE = ".lock"
CHECKPOINT_KIND = "aerann-checkpoint"
CHECKPOINT_VERSION = 1


@dataclass
class RunResult:
    """What :func:`train` did."""

    model: object
    out: Path
    steps: int
    epochs: int
    learning_rate: float
    checkpoint: Path
    model_path: Path
    plot_path: Path | None
    train_losses: list = field(default_factory=list)  # per-target loss of every epoch finished by this call
    validation_losses: list = field(default_factory=list)
    compile_seconds: float = 0.0
    best_epoch: int | None = None  # the epoch of the lowest validation loss (1-based), if validated
    stopped_early: bool = False


# -- files ---------------------------------------------------------------------------

def remove_stale_temporaries(folder) -> None:
    """Delete temporary files a killed process left behind (they were never renamed into place)."""
    for folder in (Path(folder), Path(folder) / CHECKPOINT_DIR):
        if folder.is_dir():
            for stale in folder.glob(".*.tmp"):
                stale.unlink(missing_ok=True)


def checkpoint_path(out, step: int) -> Path:
    return Path(out) / CHECKPOINT_DIR / f"checkpoint-{step:08d}.npz"


def checkpoints(out) -> list:
    """The checkpoint files of a run, oldest first."""
    folder = Path(out) / CHECKPOINT_DIR
    return sorted(folder.glob("checkpoint-*.npz")) if folder.is_dir() else []


@dataclass
class Checkpoint:
    """A checkpoint read back: parameters, the trainer's arrays (optimizer state, carried stream states,
    best parameters, by their prefixed names) and the training position."""

    path: Path
    params: dict
    arrays: dict
    metadata: dict

    @property
    def training(self) -> dict:
        return self.metadata["training"]

    @property
    def optimizer(self) -> dict:
        """The optimizer's state: name -> array."""
        return {k[len("optimizer/"):]: v for k, v in self.arrays.items() if k.startswith("optimizer/")}


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint; ValueError (naming the file) for anything that is not a whole checkpoint."""
    arrays, metadata = files.load_arrays(path)
    check_checkpoint_metadata(path, metadata)
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    state = {k: v for k, v in arrays.items() if not k.startswith("param/")}
    for name, array in {**params, **state}.items():
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
            raise ValueError(f"{path}: {name} is not an array of finite floats")
    return Checkpoint(Path(path), params, state, metadata)


def check_checkpoint_metadata(path, metadata) -> None:
    """A ValueError naming ``path`` unless its metadata is a whole checkpoint's (kind, version, position)."""
    if metadata.get("kind") != CHECKPOINT_KIND:
        raise ValueError(f"{path} is a model file, not a training checkpoint")
    if metadata.get("checkpoint_version") != CHECKPOINT_VERSION:
        raise ValueError(f"{path} has an unsupported checkpoint version {metadata.get('checkpoint_version')!r}")
    training = metadata.get("training")
    needed = ("step", "epoch", "position", "learning_rate", "rng_state", "settings")
    if not isinstance(training, dict) or any(k not in training for k in needed):
        raise ValueError(f"{path} is a malformed checkpoint (no training position)")
    counters = [training[k] for k in ("step", "epoch", "position")]
    rate = training["learning_rate"]
    if not all(type(c) is int and c >= 0 for c in counters) or not (
        type(rate) in (int, float) and math.isfinite(rate) and rate > 0
    ) or not isinstance(training["rng_state"], dict) or not isinstance(training["settings"], dict):
        raise ValueError(f"{path} is a malformed checkpoint (bad training position)")


def latest_checkpoint(out, warn=None):
    """The newest checkpoint of a run that reads back whole, or None; unreadable ones are reported via ``warn``."""
    for path in reversed(checkpoints(out)):
        try:
            return load_checkpoint(path)
        except (ValueError, OSError) as error:
            if warn is not None:
                warn(f"skipping an unreadable checkpoint: {error}")
    return None


def model_from_checkpoint(path):
    """Rebuild the model a checkpoint was taken from, with the checkpoint's parameters
    (:meth:`RecurrentModel.load` reads checkpoints as well as model files)."""
    from aerann.models import RecurrentModel

    return RecurrentModel.load(path.path if isinstance(path, Checkpoint) else path)


# -- metrics -----------------------------------------------------------------------------
class MetricsLog:
    """Append-only JSON-lines log; a line cut short by a kill is skipped when read."""

    def __init__(self, path):
        self.path = Path(path)
        if self.path.is_file() and self.path.stat().st_size:
            with open(self.path, "rb") as stream:
                stream.seek(-1, os.SEEK_END)
                needs_newline = stream.read(1) != b"\n"
        else:
            needs_newline = False
        self.stream = open(self.path, "a", encoding="utf-8")
        if needs_newline:
            self.stream.write("\n")

    def write(self, event: str, **values) -> None:
        record = {"event": event, "time": round(time.time(), 3)}
        for key, value in values.items():
            if isinstance(value, float) and not math.isfinite(value):
                value = str(value)
            record[key] = value
        self.stream.write(json.dumps(record) + "\n")
        self.stream.flush()

    def close(self) -> None:
        self.stream.close()


def read_metrics(out) -> list:
    """The records of a run's metrics log, without those a resume superseded.

    After a kill the steps since the last checkpoint run again; a ``resume``
    record at step S drops the earlier records of steps after S.
    """
    path = Path(out) / METRICS_FILE
    if not path.is_file():
        raise FileNotFoundError(f"no metrics log at {path}")
    records = []
    for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
        try:
            record = json.loads(line)
        except json.JSONDecodeError:
            continue
        if not isinstance(record, dict):
            continue
        if record.get("event") == "resume":
            step = record.get("step", 0)
            records = [r for r in records if not (isinstance(r.get("step"), int) and r["step"] > step)]
        records.append(record)
    return records


def plot(out, path=None) -> Path:
    """Draw the training and validation loss of the run in ``out`` to a PNG (default OUT/loss.png)."""
    out = Path(out)
    records = read_metrics(out)
    try:
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
    except ImportError:
        raise TrainingError("plotting needs matplotlib: pip install 'aerann[plot]'") from None
    train = [(r["step"], r["loss"]) for r in records if r.get("event") == "train" and isinstance(r.get("loss"), float)]
    validation = {}
    for r in records:
        if r.get("event") == "validation" and isinstance(r.get("loss"), float):
            validation[r["epoch"]] = (r["step"], r["loss"])  # a resumed epoch end is logged again: keep the last
    figure = Figure(figsize=(6, 4), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    if train:
        axes.plot(*zip(*train), label="training", color="tab:blue")
    if validation:
        axes.plot(*zip(*sorted(validation.values())), "o-", label="validation", color="tab:orange")
    axes.set_xlabel("step")
    axes.set_ylabel("loss per target (nats)")
    axes.set_title(f"{out.resolve().name}")
    axes.grid(alpha=0.3)
    if train or validation:
        axes.legend()
    path = Path(path) if path is not None else out / PLOT_FILE
    return files.write_atomic(path, lambda p: figure.savefig(p, format="png"))


# -- the run -----------------------------------------------------------------------------
def _digest(X, Y) -> str:
    """A fingerprint of the training data, so that a resume on other data is caught."""
    h = hashlib.sha256()
    for group in (X, Y):
        arrays = [group] if isinstance(group, np.ndarray) else group
        for a in arrays:
            a = np.ascontiguousarray(a)
            h.update(f"{a.dtype.str}{a.shape}".encode())
            h.update(a.tobytes())
    return h.hexdigest()[:16]


def _check_settings(checkpoint, current) -> None:
    stored = checkpoint.training["settings"]
    different = sorted(k for k in set(stored) | set(current) if stored.get(k) != current.get(k))
    if different:
        details = ", ".join(f"{k}: {stored.get(k)!r} then, {current.get(k)!r} now" for k in different)
        raise TrainingError(
            f"{checkpoint.path} was taken with other settings ({details}); an exact resume needs the same ones"
        )


class _RunTrainer(engine.Trainer):
    """The trainer of a run folder: metrics log, checkpoints, the best model's file, Ctrl-C.

    Of several processes training together, only the one that ``writes``
    (process 0) writes files; the others take the same steps.
    """

    def __init__(self, model, batches, settings, epochs, out, run_settings, checkpoint_every, checkpoint_minutes,
                 keep, model_metadata, writes=True, **options):
        super().__init__(model, batches, settings, epochs, **options)
        self.out, self.run_settings, self.keep = Path(out), run_settings, keep
        self.checkpoint_every, self.checkpoint_minutes = checkpoint_every, checkpoint_minutes
        self.model_metadata, self.writes = model_metadata, writes
        self.last_checkpoint, self.last_checkpoint_time = None, time.monotonic()

    def checkpoint_due(self) -> bool:
        due = self.checkpoint_every and self.step % self.checkpoint_every == 0
        late = self.checkpoint_minutes and time.monotonic() - self.last_checkpoint_time >= 60 * self.checkpoint_minutes
        return bool(due or late)

    def save_checkpoint(self) -> Path:
        import aesara

        import aerann

        path = checkpoint_path(self.out, self.step)
        arrays = {f"param/{n}": v for n, v in self.model.parameter_values().items()}
        arrays.update(self.arrays())  # every process: gathering states spread over processes takes them all
        self.last_checkpoint, self.last_checkpoint_time = path, time.monotonic()
        if not self.writes:
            return path
        metadata = {
            "kind": CHECKPOINT_KIND,
            "checkpoint_version": CHECKPOINT_VERSION,
            "class": type(self.model).__name__,
            "config": self.model.config(),
            "floatX": aesara.config.floatX,
            "training": {**self.record(), "settings": self.run_settings},
            "aerann_version": aerann.__version__,
        }
        files.save_arrays(path, arrays, metadata)
        for old in checkpoints(self.out)[: -self.keep]:
            old.unlink(missing_ok=True)
        self.log.write("checkpoint", step=self.step, path=str(path.relative_to(self.out)))
        return path

    def on_best(self) -> None:
        if self.writes:
            self.model.save(self.out / BEST_FILE, metadata=self.model_metadata)
        self.log.write("best", step=self.step, epoch=self.best_epoch, loss=self.best_loss)

    def resume(self, checkpoint: Checkpoint) -> None:
        _check_settings(checkpoint, self.run_settings)
        if checkpoint.metadata.get("class") != type(self.model).__name__ or json.loads(
            json.dumps(checkpoint.metadata.get("config"))
        ) != json.loads(json.dumps(self.model.config())):
            raise TrainingError(f"{checkpoint.path} holds a different model from the one given")
        self.model.set_parameter_values(checkpoint.params, checkpoint.path)
        try:
            self.load(checkpoint.training, checkpoint.arrays, checkpoint.path)
        except ValueError as error:
            message = str(error)
            raise ValueError(message if str(checkpoint.path) in message else f"{checkpoint.path}: {message}") from None
        self.last_checkpoint = checkpoint.path

    def on_sigint(self, signum, frame):
        if self.interrupt_requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.interrupt_requested = True
        self.say("interrupted: saving a checkpoint after this step (Ctrl-C again to stop at once)")

    def run(self):
        try:
            previous_handler = signal.signal(signal.SIGINT, self.on_sigint)
        except ValueError:  # not the main thread: Ctrl-C cannot reach us anyway
            previous_handler = None
        try:
            return super().run()
        finally:
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)


def train(
    model,
    X,
    Y,
    out,
    *,
    validation=None,
    epochs=1,
    batch_size=16,
    optimizer="sgd",
    learning_rate=0.01,
    options=None,
    reg=0.0,
    clip=None,
    schedule="none",
    schedule_options=None,
    patience=None,
    restore_best=False,
    seed=0,
    resume=False,
    checkpoint_every=100,
    checkpoint_minutes=10.0,
    keep=3,
    log_every=10,
    progress=None,
    plot_loss=True,
    verbose=True,
    max_failures=5,
    resume_learning_rate=None,
    run_info=None,
    files=None,
    model_metadata=None,
    callback=None,
    devices=None,
) -> RunResult:
    """Train ``model`` on (X, Y) in the run folder ``out``; see the module's docs for what it holds.

    ``validation`` is an optional (X, Y) pair scored after every epoch.
    ``optimizer`` is one of :data:`aerann.training.optim.OPTIMIZERS` with its
    ``options`` (e.g. ``{"mu": 0.9}`` for momentum); ``reg`` is the L2 weight,
    ``clip`` a maximum global gradient norm; ``schedule`` (one of
    :data:`aerann.training.schedules.SCHEDULES`, with ``schedule_options``) sets each
    epoch's learning rate; ``patience`` stops the run after that many epochs
    without a lower validation loss, and ``restore_best`` saves the best
    epoch's parameters as the final model (the best model is in best.npz
    either way).  Checkpoints are taken every
    ``checkpoint_every`` steps and every ``checkpoint_minutes`` minutes (0 or
    None turns either off) and at the end; the last ``keep`` are kept.  The
    training loss is logged every ``log_every`` steps.  ``resume=True``
    continues from the newest readable checkpoint in ``out`` (the settings and
    data must be the same; ``epochs`` may be larger; ``resume_learning_rate``
    replaces the checkpoint's learning rate, e.g. after a run stopped on
    non-finite losses, and the run is then no longer an exact continuation); a new run starts the
    optimizer's state (velocities, caches) from zero.  ``files`` maps extra
    file names to ``write(path)`` callables, written atomically into ``out``
    before training starts (a vocabulary, say); ``run_info`` is stored in
    run.json; ``model_metadata`` (JSON, e.g. the vocabulary) goes into the
    model files.  ``callback(trainer, loss)`` is called after every step.
    ``devices`` (JAX backend) splits every minibatch over that many devices,
    or "all"; it is not a setting of the run, so a checkpoint resumes on any
    device count.
    """
    X, Y = model.check_data(X, Y)
    validate = None
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("validation must be a pair (X, Y)")
        held_out = model.check_data(*validation)
        validate = lambda: model.loss(*held_out)  # noqa: E731
    batch_size = positive_int(batch_size, "batch_size")
    devices = device_count(devices)
    data = {"batch_size": batch_size, "data": _digest(X, Y), "sequences": len(X)}
    return _train(model, engine.SequenceBatches(model, X, Y, batch_size, devices), validate, "loss", data,
                  locals())


def train_stream(
    model,
    tokens,
    out,
    *,
    bptt=35,
    batch_size=20,
    validation=None,
    epochs=1,
    optimizer="sgd",
    learning_rate=0.01,
    options=None,
    reg=0.0,
    clip=None,
    schedule="none",
    schedule_options=None,
    patience=None,
    restore_best=False,
    resume=False,
    checkpoint_every=100,
    checkpoint_minutes=10.0,
    keep=3,
    log_every=10,
    progress=None,
    plot_loss=True,
    verbose=True,
    max_failures=5,
    resume_learning_rate=None,
    run_info=None,
    files=None,
    model_metadata=None,
    callback=None,
    devices=None,
) -> RunResult:
    """:func:`train` for a language model on one token stream, as :meth:`LanguageModel.fit_stream` trains.

    The stream is cut into ``batch_size`` columns and trained in chunks of
    ``bptt`` steps with the states carried from chunk to chunk; a checkpoint
    holds the carried states, so a resumed run continues exactly.
    ``validation`` is a held-out token stream; the other options are
    :func:`train`'s.
    """
    if not hasattr(model, "fit_stream"):
        raise TypeError(f"stream training needs a LanguageModel, got a {type(model).__name__}")
    bptt = positive_int(bptt, "bptt")
    batch_size = positive_int(batch_size, "batch_size")
    devices = device_count(devices)
    columns = model.stream_columns(tokens, batch_size, bptt, "tokens")
    validate = None
    if validation is not None:
        held_out = model.stream_columns(validation, batch_size, bptt, "validation")
        validate = lambda: model.columns_loss(held_out, bptt)  # noqa: E731
    data = {"batch_size": batch_size, "bptt": bptt, "data": _digest([columns], [columns]),
            "stream_tokens": int(columns.size)}
    return _train(model, engine.StreamBatches(model, columns, bptt, devices), validate, "stream loss", data,
                  {**locals(), "seed": 0})


def _train(model, batches, validate, validation_function, data, given) -> RunResult:
    """A run of :func:`train` or :func:`train_stream`: ``given`` holds their arguments, ``data`` the settings
    that describe the data, ``validation_function`` the name of the model's compiled function ``validate``
    uses."""
    settings = training_settings.check(given["learning_rate"], given["optimizer"], given["options"], given["reg"],
                                       given["clip"], given["schedule"], given["schedule_options"],
                                       given["patience"])
    epochs = positive_int(given["epochs"], "epochs")
    seed = given["seed"]
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    keep = positive_int(given["keep"], "keep")
    log_every = positive_int(given["log_every"], "log_every")
    checkpoint_every = positive_int(given["checkpoint_every"], "checkpoint_every") if given["checkpoint_every"] else 0
    checkpoint_minutes = given["checkpoint_minutes"]
    checkpoint_minutes = finite_float(checkpoint_minutes, "checkpoint_minutes") if checkpoint_minutes else 0.0
    max_failures = positive_int(given["max_failures"], "max_failures")
    resume_learning_rate = given["resume_learning_rate"]
    if resume_learning_rate is not None:
        resume_learning_rate = finite_float(resume_learning_rate, "resume_learning_rate")
        if resume_learning_rate <= 0:
            raise ValueError(f"resume_learning_rate must be positive, got {resume_learning_rate}")
    out = Path(given["out"])
    writes = writes_files()
    run_settings = {
        "optimizer": settings.optimizer,
        "options": list(settings.options),
        "reg": settings.reg,
        "clip": settings.clip,
        "seed": int(seed),
        **data,
    }
    # Settings that are at their defaults are left out, so that runs from before they existed still resume.
    if settings.schedule != "none":
        run_settings.update(schedule=settings.schedule, schedule_options=list(settings.schedule_options))
    if settings.patience is not None:
        run_settings["patience"] = settings.patience
    run_settings = json.loads(json.dumps(run_settings))
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    checkpoint = None
    if given["resume"]:
        if not out.is_dir():
            raise ValueError(f"there is no run to resume in {out}")
        remove_stale_temporaries(out)
        checkpoint = latest_checkpoint(out, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
        if checkpoint is None and checkpoints(out):
            raise ValueError(f"none of the checkpoints in {out / CHECKPOINT_DIR} can be read: cannot resume")
        if checkpoint is None:  # stopped before its first checkpoint: nothing was lost, start again
            print(f"note: {out} has no checkpoint yet: starting from the beginning", file=sys.stderr)
        else:
            _check_settings(checkpoint, run_settings)  # before compiling: a mismatch fails fast
    elif writes and (checkpoints(out) or (out / METRICS_FILE).exists()):
        raise ValueError(f"{out} already holds a run: resume it, or choose another folder")

    verbose = given["verbose"]
    progress = sys.stderr.isatty() if given["progress"] is None else bool(given["progress"])
    start = time.perf_counter()
    # Compiled before anything is written: a failure leaves no files behind.
    trainer = _RunTrainer(model, batches, settings, epochs, out, run_settings, checkpoint_every, checkpoint_minutes,
                          keep, given["model_metadata"], writes, validation=validate, seed=seed, verbose=verbose,
                          progress=progress, max_failures=max_failures, callback=given["callback"],
                          log_every=log_every, restore_best=given["restore_best"])
    if validate is not None:
        model.compiled(validation_function)
    compile_seconds = time.perf_counter() - start
    trainer.say(f"compiled the training step{' and the loss' if validate is not None else ''} "
                f"in {compile_seconds:.1f} s")

    if not writes:
        return _train_in(trainer, None, checkpoint, False, given, epochs, settings, run_settings, compile_seconds,
                         resume_learning_rate)
    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    try:
        return _train_in(trainer, out, checkpoint, created, given, epochs, settings, run_settings, compile_seconds,
                         resume_learning_rate)
    finally:
        lock.close()


def _lock(out):
    """Hold OUT/.lock for the run: a second process training in the same folder is refused.

    The lock is the kernel's (flock), so it goes away with the process, SIGKILL included.
    """
    stream = open(Path(out) / LOCK_FILE, "a")
    try:
        import fcntl
    except ImportError:  # not POSIX: no lock
        return stream
    try:
        fcntl.flock(stream.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        stream.close()
        raise ValueError(f"{out} is in use by another training process") from None
    return stream


def _train_in(trainer, out, checkpoint, created, given, epochs, settings, run_settings, compile_seconds,
              resume_learning_rate):
    """The run in ``out``; ``out`` is None in a process that writes nothing (a process other than 0)."""
    model, writes = trainer.model, out is not None
    out = trainer.out
    if writes:
        (out / CHECKPOINT_DIR).mkdir(exist_ok=True)
        remove_stale_temporaries(out)
    try:
        if writes and checkpoint is None:
            for name, write in (given["files"] or {}).items():
                files.write_atomic(out / name, write)
            files.write_json_atomic(out / RUN_FILE, {
                "format": "aerann-run",
                "version": 1,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "epochs": epochs,
                "learning_rate": settings.learning_rate,
                "settings": run_settings,
                **({"info": given["run_info"]} if given["run_info"] is not None else {}),
            })
        if writes:
            trainer.log = MetricsLog(out / METRICS_FILE)
    except BaseException:
        if created:
            _remove_run(out)
        raise
    try:
        if checkpoint is None:
            # A new run starts a new optimizer, whatever an earlier fit or run left in its state.
            state = model.optimizer_state(trainer.step_key)
            model.set_optimizer_state(trainer.step_key, {name: np.zeros_like(v) for name, v in state.items()})
            trainer.log.write("start", step=0, epochs=epochs, learning_rate=settings.learning_rate,
                              settings=run_settings)
            trainer.save_checkpoint()  # from here on, a kill at any moment leaves a checkpoint to resume from
        else:
            trainer.resume(checkpoint)
            trainer.say(f"resuming from {checkpoint.path} (step {checkpoint.training['step']})")
            if resume_learning_rate is not None and resume_learning_rate != trainer.lr:
                trainer.say(f"the learning rate is now {resume_learning_rate:g} (it was {trainer.lr:g}): "
                            "the run no longer continues exactly")
                trainer.lr = resume_learning_rate
            trainer.log.write("resume", step=checkpoint.training["step"],
                              checkpoint=str(checkpoint.path.relative_to(out)), epochs=epochs)
        trainer.log.write("compile", step=checkpoint.training["step"] if checkpoint else 0,
                          seconds=round(compile_seconds, 3))
        began = time.perf_counter()
        try:
            history = trainer.run()
        except Interrupted:
            raise
        except KeyboardInterrupt:
            trainer.log.write("killed", step=trainer.step)
            raise
        final = trainer.save_checkpoint()
        model_path = model.save(out / MODEL_FILE, metadata=given["model_metadata"]) if writes else out / MODEL_FILE
        trainer.log.write("end", step=trainer.step, seconds=round(time.perf_counter() - began, 3))
    finally:
        trainer.log.close()
    plot_path = None
    if given["plot_loss"] and writes:
        try:
            plot_path = plot(out)
        except TrainingError as error:  # no matplotlib: the run itself succeeded
            trainer.say(f"no loss plot: {error}")
    if writes:
        trainer.say(f"saved {model_path}" + (f" and {plot_path}" if plot_path else ""))
    return RunResult(model, out, trainer.step, trainer.epoch, trainer.lr, final, model_path, plot_path,
                     list(history), history.validation, compile_seconds, history.best_epoch, history.stopped_early)


def _remove_run(out) -> None:
    """Remove a run folder this call created, when it failed before any checkpoint existed."""
    out = Path(out)
    for child in sorted(out.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    out.rmdir()
