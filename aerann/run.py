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
      loss.png                  training and validation loss (needs matplotlib)
      .lock                     held (flock) while a process trains here

Checkpoints are written atomically (a temporary file, then a rename), the
first one before the first step, so a process killed at any moment, SIGKILL
included, leaves a whole checkpoint to resume from and no half files.  A
checkpoint holds the parameters, the optimizer's state (velocities, caches),
the learning rate, the random generator's state and the position in the
epoch's minibatch order, so ``train(..., resume=True)`` continues exactly: the
resumed run ends with the same parameters, bit for bit, as one that was never
stopped.  Ctrl-C finishes the current step, saves a checkpoint and raises
:class:`Interrupted`.

A step whose loss is NaN or infinite is undone (the compiled step applies its
updates, so the last good parameters and optimizer state are kept in memory
and restored), the learning rate is halved and the step is tried again;
``max_failures`` failures in a row stop the run with :class:`TrainingError`.
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
from tqdm import tqdm

from aerann import batching, io, optim
from aerann.validation import finite_float, positive_int

RUN_FILE = "run.json"
METRICS_FILE = "metrics.jsonl"
MODEL_FILE = "model.npz"
PLOT_FILE = "loss.png"
CHECKPOINT_DIR = "checkpoints"
LOCK_FILE = ".lock"
CHECKPOINT_KIND = "aerann-checkpoint"
CHECKPOINT_VERSION = 1


class TrainingError(Exception):
    """A run that cannot go on; the message says why and what to do."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run after saving a checkpoint (``checkpoint``, a Path)."""

    def __init__(self, checkpoint, step):
        super().__init__(f"interrupted at step {step}; saved the checkpoint {checkpoint}")
        self.checkpoint = checkpoint
        self.step = step


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
    """A checkpoint read back: parameters, optimizer state and the training position."""

    path: Path
    params: dict
    optimizer: dict
    metadata: dict

    @property
    def training(self) -> dict:
        return self.metadata["training"]


def load_checkpoint(path) -> Checkpoint:
    """Read a checkpoint; ValueError (naming the file) for anything that is not a whole checkpoint."""
    arrays, metadata = io.load_arrays(path)
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
    params = {k[len("param/"):]: v for k, v in arrays.items() if k.startswith("param/")}
    state = {k[len("optimizer/"):]: v for k, v in arrays.items() if k.startswith("optimizer/")}
    for name, array in {**params, **state}.items():
        if array.dtype.kind != "f" or not np.all(np.isfinite(array)):
            raise ValueError(f"{path}: {name} is not an array of finite floats")
    return Checkpoint(Path(path), params, state, metadata)


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
    """Rebuild the model a checkpoint was taken from, with the checkpoint's parameters."""
    from aerann.models import LanguageModel, SequenceClassifier, SequenceTagger

    checkpoint = path if isinstance(path, Checkpoint) else load_checkpoint(path)
    classes = {c.__name__: c for c in (LanguageModel, SequenceTagger, SequenceClassifier)}
    name, config = checkpoint.metadata.get("class"), checkpoint.metadata.get("config")
    if name not in classes or not isinstance(config, dict):
        raise ValueError(f"{checkpoint.path} does not say which model it holds")
    try:
        model = classes[name](**config)
    except (TypeError, ValueError) as error:
        raise ValueError(f"{checkpoint.path} has an invalid model configuration: {error}") from None
    _set_params(model, checkpoint.params, checkpoint.path)
    return model


def _set_params(model, arrays, where) -> None:
    if set(arrays) != set(model.params):
        raise ValueError(f"{where}: parameters {sorted(set(arrays) ^ set(model.params))} do not match the model")
    for name, shared in model.params.items():
        expected = shared.get_value(borrow=True).shape
        if arrays[name].shape != expected:
            raise ValueError(f"{where}: {name} has shape {arrays[name].shape}, the model needs {expected}")
    for name, shared in model.params.items():
        shared.set_value(np.asarray(arrays[name], dtype=shared.dtype))


# -- the optimizer's state ---------------------------------------------------------------
class OptimizerState:
    """Read and write the shared variables an optimizer keeps (velocities, caches) for train step ``key``."""

    def __init__(self, model, key):
        self.model, self.key = model, key

    def get(self) -> dict:
        return self.model.optimizer_state(self.key)

    def set(self, values: dict, where="the checkpoint") -> None:
        try:
            self.model.set_optimizer_state(self.key, values)
        except ValueError as error:
            raise ValueError(f"{where}: {error}") from None


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
    return io.write_atomic(path, lambda p: figure.savefig(p, format="png"))


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


def _train_function(model, key):
    """The model's compiled training step for ``key`` = (optimizer, options, reg, clip)."""
    optimizer, options, reg, clip = key
    return model.train_step(optimizer, reg, clip, **dict(options))


def _finite(snapshot) -> bool:
    params, state = snapshot
    return all(np.all(np.isfinite(a)) for a in (*params.values(), *state.values()))


def _rng_state(rng) -> dict:
    return json.loads(json.dumps(rng.bit_generator.state))


class _Run:
    def __init__(self, model, X, Y, out, validation, settings, epochs, learning_rate, checkpoint_every,
                 checkpoint_minutes, keep, log_every, progress, verbose, max_failures, callback):
        self.model, self.X, self.Y, self.out = model, X, Y, Path(out)
        self.validation, self.settings, self.epochs = validation, settings, epochs
        self.lr = learning_rate
        self.checkpoint_every, self.checkpoint_minutes, self.keep = checkpoint_every, checkpoint_minutes, keep
        self.log_every, self.verbose, self.max_failures, self.callback = log_every, verbose, max_failures, callback
        self.progress = sys.stderr.isatty() if progress is None else bool(progress)
        self.step = self.epoch = self.position = 0
        self.epoch_loss = 0.0
        self.epoch_targets = 0
        self.rng = np.random.default_rng(settings["seed"])
        self.epoch_rng_state = None
        self.interrupt_requested = False
        self.last_checkpoint = None
        self.bar = None

    # messages go above the progress bar
    def say(self, message: str) -> None:
        if self.verbose:
            if self.bar is not None and not self.bar.disable:
                tqdm.write(message, file=sys.stdout)
            else:
                print(message, flush=True)

    def snapshot(self):
        return {n: p.get_value() for n, p in self.model.params.items()}, self.state.get()

    def restore(self, snapshot) -> None:
        params, state = snapshot
        for name, shared in self.model.params.items():
            shared.set_value(params[name])
        self.state.set(state)

    def training_record(self) -> dict:
        return {
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "learning_rate": self.lr,
            "rng_state": self.epoch_rng_state if self.epoch_rng_state is not None else _rng_state(self.rng),
            "epoch_loss": self.epoch_loss,
            "epoch_targets": self.epoch_targets,
            "epochs": self.epochs,
            "settings": self.settings,
        }

    def save_checkpoint(self) -> Path:
        import aesara

        import aerann

        path = checkpoint_path(self.out, self.step)
        arrays = {f"param/{n}": p.get_value() for n, p in self.model.params.items()}
        arrays.update({f"optimizer/{n}": v for n, v in self.state.get().items()})
        metadata = {
            "kind": CHECKPOINT_KIND,
            "checkpoint_version": CHECKPOINT_VERSION,
            "class": type(self.model).__name__,
            "config": self.model.config(),
            "floatX": aesara.config.floatX,
            "training": self.training_record(),
            "aerann_version": aerann.__version__,
        }
        io.save_arrays(path, arrays, metadata)
        for old in checkpoints(self.out)[: -self.keep]:
            old.unlink(missing_ok=True)
        self.last_checkpoint, self.last_checkpoint_time = path, time.monotonic()
        self.log.write("checkpoint", step=self.step, path=str(path.relative_to(self.out)))
        return path

    def load(self, checkpoint: Checkpoint) -> None:
        training = checkpoint.training
        _check_settings(checkpoint, self.settings)
        if checkpoint.metadata.get("class") != type(self.model).__name__ or json.loads(
            json.dumps(checkpoint.metadata.get("config"))
        ) != json.loads(json.dumps(self.model.config())):
            raise TrainingError(f"{checkpoint.path} holds a different model from the one given")
        _set_params(self.model, checkpoint.params, checkpoint.path)
        self.state.set(checkpoint.optimizer, checkpoint.path)
        self.step, self.epoch, self.position = training["step"], training["epoch"], training["position"]
        self.lr = float(training["learning_rate"])
        self.epoch_loss = float(training.get("epoch_loss", 0.0))
        self.epoch_targets = int(training.get("epoch_targets", 0))
        try:
            self.rng.bit_generator.state = training["rng_state"]
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(f"{checkpoint.path} has a bad random generator state: {error}") from None
        self.epoch_rng_state = training["rng_state"] if self.position else None
        self.last_checkpoint = checkpoint.path

    def on_sigint(self, signum, frame):
        if self.interrupt_requested:  # a second Ctrl-C: stop now
            raise KeyboardInterrupt
        self.interrupt_requested = True
        self.say("interrupted: saving a checkpoint after this step (Ctrl-C again to stop at once)")

    def prepare(self, key, resume_from=None):
        self.train_fn = _train_function(self.model, key)
        self.state = OptimizerState(self.model, key)
        if resume_from is not None:
            self.load(resume_from)
        else:  # a new run starts a new optimizer, whatever an earlier fit or run left in its state
            self.state.set({name: np.zeros_like(value) for name, value in self.state.get().items()})

    def run(self):
        self.last_checkpoint_time = time.monotonic()
        X, Y = self.X, self.Y
        lengths = [len(x) for x in X]
        from aerann.models import DEFAULT_BUCKETS

        failures = 0
        good = self.snapshot()
        window_loss = window_targets = window_tokens = 0
        window_time = 0.0
        result_train, result_validation = [], []
        previous_handler = None
        try:
            previous_handler = signal.signal(signal.SIGINT, self.on_sigint)
        except ValueError:  # not the main thread: Ctrl-C cannot reach us anyway
            previous_handler = None
        try:
            while self.epoch < self.epochs:
                if self.epoch_rng_state is None:
                    self.epoch_rng_state = _rng_state(self.rng)
                else:
                    self.rng.bit_generator.state = self.epoch_rng_state
                batches = batching.minibatches(len(X), lengths, self.settings["batch_size"], self.rng, DEFAULT_BUCKETS)
                self.bar = tqdm(
                    total=len(batches), initial=self.position, desc=f"epoch {self.epoch + 1}/{self.epochs}",
                    unit="batch", disable=not self.progress, leave=False, file=sys.stderr,
                )
                with self.bar:
                    while self.position < len(batches):
                        if self.interrupt_requested:
                            raise Interrupted(self.save_checkpoint(), self.step)
                        columns = self.model._columns(self.settings["batch_size"])  # fixed shapes on JAX
                        Xb, Yb, mask = self.model.batch(X, Y, batches[self.position], columns)
                        start = time.perf_counter()
                        loss = float(self.train_fn(Xb, Yb, mask, self.lr))
                        elapsed = time.perf_counter() - start
                        after = self.snapshot() if math.isfinite(loss) else None
                        if after is None or not _finite(after):
                            # a finite loss can still come with an update that overflowed
                            self.restore(good)
                            what = f"the loss was {loss}" if after is None else "the update made a parameter infinite"
                            failures += 1
                            self.lr *= 0.5
                            self.log.write("nonfinite", step=self.step + 1, loss=loss, learning_rate=self.lr,
                                           failures=failures)
                            if failures >= self.max_failures:
                                path = self.save_checkpoint()
                                raise TrainingError(
                                    f"{what} at step {self.step + 1}, {failures} times in a row, even "
                                    f"after halving the learning rate to {self.lr:.3g}; stopped. The last good "
                                    f"state is in {path}: resume it with a lower learning rate, or start again with gradient clipping"
                                )
                            self.say(
                                f"step {self.step + 1}: {what}; undid the step and halved the "
                                f"learning rate to {self.lr:.6g}"
                            )
                            continue
                        failures = 0
                        good = after
                        targets = self.model._targets(mask)
                        tokens = int(mask.sum())
                        self.step += 1
                        self.position += 1
                        self.epoch_loss += loss
                        self.epoch_targets += targets
                        window_loss += loss
                        window_targets += targets
                        window_tokens += tokens
                        window_time += elapsed
                        rate = window_tokens / window_time if window_time > 0 else float("inf")
                        self.bar.set_postfix(loss=f"{loss / max(targets, 1):.4f}", tok_s=f"{rate:.0f}", refresh=False)
                        self.bar.update()
                        if self.step % self.log_every == 0:
                            self.log.write(
                                "train", step=self.step, epoch=self.epoch + 1, loss=window_loss / max(window_targets, 1),
                                learning_rate=self.lr, tokens_per_s=round(rate, 1),
                            )
                            window_loss = window_targets = window_tokens = 0
                            window_time = 0.0
                        if self.callback is not None:
                            self.callback(self, loss)
                        due = self.checkpoint_every and self.step % self.checkpoint_every == 0
                        late = (
                            self.checkpoint_minutes
                            and time.monotonic() - self.last_checkpoint_time >= 60 * self.checkpoint_minutes
                        )
                        if due or late:
                            self.save_checkpoint()
                    self.bar.refresh()  # the epoch's last loss and speed, however short the epoch
                if self.interrupt_requested:
                    raise Interrupted(self.save_checkpoint(), self.step)
                train_loss = self.epoch_loss / max(self.epoch_targets, 1)
                result_train.append(train_loss)
                message = f"epoch {self.epoch + 1}/{self.epochs}: training loss {train_loss:.4f}"
                if self.validation is not None:
                    validation_loss = self.model.loss(*self.validation)
                    result_validation.append(validation_loss)
                    self.log.write("validation", step=self.step, epoch=self.epoch + 1, loss=validation_loss)
                    message += f", validation loss {validation_loss:.4f}"
                    if hasattr(self.model, "perplexity"):
                        message += f" (perplexity {math.exp(min(validation_loss, 700)):.2f})"
                self.say(message + f", learning rate {self.lr:.3g}")
                self.log.write("epoch", step=self.step, epoch=self.epoch + 1, loss=train_loss, learning_rate=self.lr)
                self.epoch += 1
                self.position = 0
                self.epoch_loss, self.epoch_targets = 0.0, 0
                self.epoch_rng_state = None
        finally:
            self.bar = None
            if previous_handler is not None:
                signal.signal(signal.SIGINT, previous_handler)
        return result_train, result_validation


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
) -> RunResult:
    """Train ``model`` on (X, Y) in the run folder ``out``; see the module's docs for what it holds.

    ``validation`` is an optional (X, Y) pair scored after every epoch.
    ``optimizer`` is one of sgd, momentum, adagrad, rmsprop with extra
    ``options`` (e.g. ``{"mu": 0.9}`` for momentum); ``reg`` is the L2 weight,
    ``clip`` a maximum global gradient norm.  Checkpoints are taken every
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
    final model file.  ``callback(run, loss)`` is called after every step.
    """
    X, Y = model._check(X, Y)
    if validation is not None:
        if not isinstance(validation, (tuple, list)) or len(validation) != 2:
            raise TypeError("validation must be a pair (X, Y)")
        validation = model._check(*validation)
    epochs = positive_int(epochs, "epochs")
    batch_size = positive_int(batch_size, "batch_size")
    learning_rate = finite_float(learning_rate, "learning_rate")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    reg = finite_float(reg, "reg")
    if reg < 0:
        raise ValueError(f"reg (L2 weight) must not be negative, got {reg}")
    if clip is not None:
        clip = finite_float(clip, "clip")
        if clip <= 0:
            raise ValueError(f"clip (maximum gradient norm) must be positive, got {clip}")
    if optimizer not in optim.OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}: choose one of {', '.join(optim.OPTIMIZERS)}")
    options = dict(options or {})
    for name, value in options.items():
        options[name] = finite_float(value, f"optimizer option {name}")
    if optimizer == "momentum" and not 0 <= options.get("mu", 0.9) < 1:
        raise ValueError(f"mu (momentum) must be in [0, 1), got {options['mu']}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise TypeError(f"seed must be an integer, got {seed!r}")
    keep = positive_int(keep, "keep")
    log_every = positive_int(log_every, "log_every")
    checkpoint_every = positive_int(checkpoint_every, "checkpoint_every") if checkpoint_every else 0
    checkpoint_minutes = finite_float(checkpoint_minutes, "checkpoint_minutes") if checkpoint_minutes else 0.0
    max_failures = positive_int(max_failures, "max_failures")
    if resume_learning_rate is not None:
        resume_learning_rate = finite_float(resume_learning_rate, "resume_learning_rate")
        if resume_learning_rate <= 0:
            raise ValueError(f"resume_learning_rate must be positive, got {resume_learning_rate}")
    out = Path(out)
    settings = {
        "optimizer": optimizer,
        "options": sorted(options.items()),
        "reg": reg,
        "clip": clip,
        "batch_size": batch_size,
        "seed": int(seed),
        "data": _digest(X, Y),
        "sequences": len(X),
    }
    settings = json.loads(json.dumps(settings))
    if out.exists() and not out.is_dir():
        raise ValueError(f"{out} exists and is not a folder")
    checkpoint = None
    if resume:
        if not out.is_dir():
            raise ValueError(f"there is no run to resume in {out}")
        remove_stale_temporaries(out)
        checkpoint = latest_checkpoint(out, warn=lambda m: print(f"warning: {m}", file=sys.stderr))
        if checkpoint is None and checkpoints(out):
            raise ValueError(f"none of the checkpoints in {out / CHECKPOINT_DIR} can be read: cannot resume")
        if checkpoint is None:  # stopped before its first checkpoint: nothing was lost, start again
            print(f"note: {out} has no checkpoint yet: starting from the beginning", file=sys.stderr)
        else:
            _check_settings(checkpoint, settings)  # before compiling: a mismatch fails fast
    elif checkpoints(out) or (out / METRICS_FILE).exists():
        raise ValueError(f"{out} already holds a run: resume it, or choose another folder")

    run = _Run(model, X, Y, out, validation, settings, epochs, learning_rate, checkpoint_every,
               checkpoint_minutes, keep, log_every, progress, verbose, max_failures, callback)
    key = (optimizer, tuple(sorted(options.items())), reg, clip)
    start = time.perf_counter()
    _train_function(model, key)  # compile before anything is written: a failure leaves no files behind
    if validation is not None:
        model._function("loss")
    compile_seconds = time.perf_counter() - start
    run.say(f"compiled the training step{' and the loss' if validation is not None else ''} "
            f"in {compile_seconds:.1f} s")

    created = not out.exists()
    out.mkdir(parents=True, exist_ok=True)
    lock = _lock(out)
    try:
        return _train_in(run, model, out, key, checkpoint, created, files, epochs, learning_rate, settings,
                         run_info, compile_seconds, plot_loss, resume_learning_rate, model_metadata)
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


def _train_in(run, model, out, key, checkpoint, created, files, epochs, learning_rate, settings, run_info,
              compile_seconds, plot_loss, resume_learning_rate, model_metadata):
    (out / CHECKPOINT_DIR).mkdir(exist_ok=True)
    remove_stale_temporaries(out)
    try:
        if checkpoint is None:
            for name, write in (files or {}).items():
                io.write_atomic(out / name, write)
            io.write_json_atomic(out / RUN_FILE, {
                "format": "aerann-run",
                "version": 1,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                "epochs": epochs,
                "learning_rate": learning_rate,
                "settings": settings,
                **({"info": run_info} if run_info is not None else {}),
            })
        run.log = MetricsLog(out / METRICS_FILE)
    except BaseException:
        if created:
            _remove_run(out)
        raise
    try:
        run.prepare(key, checkpoint)
        if checkpoint is None:
            run.log.write("start", step=0, epochs=epochs, learning_rate=learning_rate, settings=settings)
            run.save_checkpoint()  # from here on, a kill at any moment leaves a checkpoint to resume from
        else:
            run.say(f"resuming from {checkpoint.path} (step {checkpoint.training['step']})")
            if resume_learning_rate is not None and resume_learning_rate != run.lr:
                run.say(f"the learning rate is now {resume_learning_rate:g} (it was {run.lr:g}): "
                        "the run no longer continues exactly")
                run.lr = resume_learning_rate
            run.log.write("resume", step=checkpoint.training["step"], checkpoint=str(checkpoint.path.relative_to(out)),
                          epochs=epochs)
        run.log.write("compile", step=checkpoint.training["step"] if checkpoint else 0, seconds=round(compile_seconds, 3))
        began = time.perf_counter()
        try:
            train_losses, validation_losses = run.run()
        except Interrupted:
            raise
        except KeyboardInterrupt:
            run.log.write("killed", step=run.step)
            raise
        final = run.save_checkpoint()
        model_path = model.save(out / MODEL_FILE, metadata=model_metadata)
        run.log.write("end", step=run.step, seconds=round(time.perf_counter() - began, 3))
    finally:
        run.log.close()
    plot_path = None
    if plot_loss:
        try:
            plot_path = plot(out)
        except TrainingError as error:  # no matplotlib: the run itself succeeded
            run.say(f"no loss plot: {error}")
    run.say(f"saved {model_path}" + (f" and {plot_path}" if plot_path else ""))
    return RunResult(model, out, run.step, run.epoch, run.lr, final, model_path, plot_path,
                     train_losses, validation_losses, compile_seconds)


def _remove_run(out) -> None:
    """Remove a run folder this call created, when it failed before any checkpoint existed."""
    out = Path(out)
    for child in sorted(out.rglob("*"), reverse=True):
        child.unlink() if child.is_file() else child.rmdir()
    out.rmdir()
