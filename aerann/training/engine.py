"""One training loop for every model: ``fit``, ``fit_stream`` and training runs all run a :class:`Trainer`.

A trainer takes steps of a model's compiled training step over the batches
of a source, epoch after epoch:

- :class:`SequenceBatches`: bucketed minibatches of a list of sequences,
  drawn in a new order every epoch from the trainer's random generator;
- :class:`StreamBatches`: one token stream cut into columns and walked in
  chunks of ``bptt`` steps, in order, each chunk starting from the previous
  chunk's final states (the gradient stops between chunks).

After every epoch it scores the validation data, if any, and then:

- keeps the parameters of the epoch with the lowest validation loss
  (``restore_best`` puts them back at the end);
- stops early after ``patience`` epochs in a row without a lower one;
- sets the next epoch's learning rate by its schedule (:mod:`aerann.training.schedules`),
  which watches the validation loss, or the training loss without validation.

A step whose loss is NaN or infinite, or whose update made a parameter
non-finite, is undone (the parameters and the optimizer's state before it are
kept in memory and put back), the learning rate is halved and the step is
tried again; ``max_failures`` failures in a row stop training with
:class:`TrainingError`.

Everything the loop depends on is in :meth:`Trainer.record` (a JSON dict) and
:meth:`Trainer.arrays`, so a training run (:mod:`aerann.training.run`) that saves them
in a checkpoint resumes exactly.  A run adds its metrics log, checkpoints and
the best model's file by overriding :meth:`Trainer.save_checkpoint` and
:meth:`Trainer.on_best`; ``fit`` uses the trainer as it is.
"""

import json
import math
import sys
import time

import aesara
import numpy as np
from tqdm import tqdm

from aerann.data import batching


class TrainingError(Exception):
    """Training that cannot go on; the message says why and what to do."""


class Interrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run after saving a checkpoint (``checkpoint``, a Path)."""

    def __init__(self, checkpoint, step):
        super().__init__(f"interrupted at step {step}; saved the checkpoint {checkpoint}")
        self.checkpoint = checkpoint
        self.step = step


class History(list):
    """The mean training loss per target of every epoch trained, with what else each epoch measured.

    ``validation`` (the validation loss per target of every epoch, when
    there is validation data), ``learning_rates`` (each epoch's),
    ``best_epoch`` (1-based, the epoch of the lowest validation loss, or
    None) and ``stopped_early``.
    """

    def __init__(self):
        super().__init__()
        self.validation, self.learning_rates = [], []
        self.best_epoch, self.stopped_early = None, False


def _parallel(devices):
    """The :class:`aerann.backend.devices.DataParallel` of a checked device count, or None for none."""
    if devices is None:
        return None
    from aerann.backend.devices import DataParallel

    return DataParallel(devices)


def _widened_masks(masks, width):
    """Dropout masks drawn for the batch's sequences, widened with ones to ``width`` for its padding ones
    (the same draws whatever the padding, so that any device count trains alike)."""
    widened = []
    for mask in masks:
        axis = 1 if mask.ndim == 3 else 0  # (T, B, n) input masks, (B, n) recurrent masks
        extra = width - mask.shape[axis]
        pad = [(0, 0)] * mask.ndim
        pad[axis] = (0, extra)
        widened.append(np.pad(mask, pad, constant_values=1) if extra else mask)
    return widened


class SequenceBatches:
    """Bucketed minibatches of ``batch_size`` sequences of (X, Y), in a new random order every epoch.

    With ``devices`` (a count :func:`aerann.backend.devices.check` accepted)
    each minibatch is split over that many devices, widened to a multiple
    of them with all-padding sequences.
    """

    def __init__(self, model, X, Y, batch_size, devices=None):
        self.model, self.X, self.Y, self.batch_size = model, X, Y, batch_size
        self.lengths = [len(x) for x in X]
        self.plan = []
        self.parallel = _parallel(devices)

    def training_step(self, step_key):
        """(the compiled step, the model's key of it) for the step key (optimizer, options, reg, clip)."""
        optimizer, options, reg, clip = step_key
        step = self.model.train_step(optimizer, reg, clip, **dict(options))
        return step if self.parallel is None else self.parallel.step(step), self.model.train_key(*step_key)

    def begin_epoch(self, rng) -> int:
        self.plan = batching.minibatches(len(self.X), self.lengths, self.batch_size, rng, batching.DEFAULT_BUCKETS)
        return len(self.plan)

    def end_epoch(self) -> None:
        self.plan = []

    def step(self, fn, index, learning_rate, rng):
        """(loss, targets, tokens, commit) of step ``index``, its dropout masks drawn from ``rng``;
        ``commit()`` keeps what a good step carries on."""
        if self.parallel is None:
            columns = self.model.batch_columns(self.batch_size)
        else:
            columns = self.parallel.width(self.batch_size)
        Xb, Yb, mask = self.model.batch(self.X, self.Y, self.plan[index], columns)
        masks = self.model.dropout_masks(rng, mask.shape[0], mask.shape[1] if columns is None else self.batch_size)
        loss = float(fn(Xb, Yb, mask, learning_rate, *_widened_masks(masks, mask.shape[1])))
        return loss, self.model.count_targets(mask), int(mask.sum()), None

    def arrays(self) -> dict:
        return {}

    def load(self, arrays, where) -> None:
        if arrays:
            raise ValueError(f"{where} holds stream states, but this training is not on a stream")


class StreamBatches:
    """Chunks of ``bptt`` steps down the columns of a token stream, in order, with the states carried.

    ``columns`` is :func:`aerann.data.batching.stream_columns` of the stream.  An
    epoch starts from the model's learnable initial states; each chunk
    starts from the final states of the chunk before it.  With ``devices``
    the columns (and their carried states) are split over that many
    devices, widened to a multiple of them with all-padding columns; a
    checkpoint holds the states of the real columns only, so that any
    device count resumes it.
    """

    def __init__(self, model, columns, bptt, devices=None):
        self.model, self.bptt = model, bptt
        self.parallel = _parallel(devices)
        self.width = columns.shape[1]  # the real columns
        width = self.width if self.parallel is None else self.parallel.width(self.width)
        columns = np.pad(columns, ((0, 0), (0, width - self.width)))
        self.chunks = list(batching.stream_chunks(columns, bptt))
        self.mask = np.ones((bptt, width), dtype=aesara.config.floatX)
        self.mask[:, self.width:] = 0
        self.states = None  # the carried states, layer after layer; None between epochs

    def training_step(self, step_key):
        optimizer, options, reg, clip = step_key
        key = ("stream", *self.model.train_key(*step_key))
        step = self.model.stream_step(optimizer, reg, clip, **dict(options))
        return step if self.parallel is None else self.parallel.step(step), key

    def _widened(self, states):
        """The states of the real columns, and the padding columns' (initial states) after them."""
        extra = self.mask.shape[1] - self.width
        if not extra:
            return states
        padding = [s for layer in self.model.initial_states(extra) for s in layer]
        return [np.concatenate([np.asarray(s), p]) for s, p in zip(states, padding)]

    def begin_epoch(self, rng) -> int:
        if self.states is None:  # not resumed in the middle of the epoch
            self.states = self._widened([s for layer in self.model.initial_states(self.width) for s in layer])
        return len(self.chunks)

    def end_epoch(self) -> None:
        self.states = None

    def step(self, fn, index, learning_rate, rng):
        Xc, Yc = self.chunks[index]
        masks = _widened_masks(self.model.dropout_masks(rng, len(Xc), self.width), Xc.shape[1])
        loss, *final = fn(Xc, Yc, self.mask[: len(Xc)], learning_rate, *self.states, *masks)

        def commit():
            self.states = final

        tokens = len(Xc) * self.width
        return float(loss), tokens, tokens, commit

    def arrays(self) -> dict:
        if self.states is None:
            return {}
        from aerann.backend.devices import gathered

        return {f"stream/{i}": gathered(s)[: self.width] for i, s in enumerate(self.states)}

    def load(self, arrays, where) -> None:
        if not arrays:
            self.states = None
            return
        expected = [s for layer in self.model.initial_states(self.width) for s in layer]
        names = [f"stream/{i}" for i in range(len(expected))]
        if sorted(arrays) != sorted(names) or any(arrays[n].shape != e.shape for n, e in zip(names, expected)):
            raise ValueError(f"{where}: its stream states do not fit this model and batch size")
        self.states = self._widened([np.asarray(arrays[n], dtype=aesara.config.floatX) for n in names])


class NullLog:
    """The metrics log of training without a run folder: nothing is written."""

    def write(self, event, **values) -> None:
        pass

    def close(self) -> None:
        pass


class Trainer:
    """Train ``model`` on ``batches`` for ``epochs`` epochs with checked ``settings``; see the module's docs.

    ``validation`` is None or a callable returning the validation loss per
    target; ``callback(trainer, loss)`` is called after every good step.
    """

    def __init__(self, model, batches, settings, epochs, *, validation=None, seed=0, verbose=False,
                 progress=False, max_failures=5, callback=None, log=None, log_every=10, restore_best=False):
        if (settings.patience is not None or restore_best) and validation is None:
            raise ValueError(("patience (early stopping)" if settings.patience is not None else "restore_best")
                             + " needs validation data to watch")
        self.model, self.batches, self.settings, self.epochs = model, batches, settings, epochs
        self.validate, self.verbose, self.progress = validation, verbose, progress
        self.max_failures, self.callback, self.restore_best = max_failures, callback, restore_best
        self.log, self.log_every = log or NullLog(), log_every
        self.train_fn, self.step_key = batches.training_step(settings.step_key)
        self.lr = settings.learning_rate
        self.schedule = settings.new_schedule()
        self.step = self.epoch = self.position = 0
        self.epoch_loss, self.epoch_targets = 0.0, 0
        self.seed = seed
        self.rng = np.random.default_rng(seed)
        self.epoch_rng_state = None
        self.best_loss = self.best_epoch = self.best_params = None
        self.waited = 0
        self.stopped_early = False
        self.interrupt_requested = False
        self.history = History()
        self.bar = None

    # -- what a checkpoint holds ----------------------------------------------------------
    def record(self) -> dict:
        """The training position and everything the loop remembers, as JSON."""
        return {
            "step": self.step,
            "epoch": self.epoch,
            "position": self.position,
            "learning_rate": self.lr,
            "rng_state": self.epoch_rng_state if self.epoch_rng_state is not None else _rng_state(self.rng),
            "epoch_loss": self.epoch_loss,
            "epoch_targets": self.epoch_targets,
            "epochs": self.epochs,
            "schedule": self.schedule.state(),
            "best_loss": self.best_loss,
            "best_epoch": self.best_epoch,
            "waited": self.waited,
            "stopped_early": self.stopped_early,
        }

    def arrays(self) -> dict:
        """The arrays the loop needs besides the parameters: optimizer state, carried states, best parameters."""
        arrays = {f"optimizer/{n}": v for n, v in self.model.optimizer_state(self.step_key).items()}
        arrays.update(self.batches.arrays())
        arrays.update({f"best/{n}": v for n, v in (self.best_params or {}).items()})
        return arrays

    def load(self, record, arrays, where) -> None:
        """Continue from a :meth:`record` and :meth:`arrays` (the parameters are set by the caller)."""
        self.model.set_optimizer_state(self.step_key, _prefixed(arrays, "optimizer/"))
        self.batches.load({k: v for k, v in arrays.items() if k.startswith("stream/")}, where)
        best = _prefixed(arrays, "best/")
        self.best_params = best or None
        self.step, self.epoch, self.position = record["step"], record["epoch"], record["position"]
        self.lr = float(record["learning_rate"])
        self.epoch_loss = float(record.get("epoch_loss", 0.0))
        self.epoch_targets = int(record.get("epoch_targets", 0))
        self.schedule.load(record.get("schedule", {}))
        self.best_loss, self.best_epoch = record.get("best_loss"), record.get("best_epoch")
        self.waited, self.stopped_early = int(record.get("waited", 0)), bool(record.get("stopped_early", False))
        try:
            self.rng.bit_generator.state = record["rng_state"]
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(f"{where} has a bad random generator state: {error}") from None
        self.epoch_rng_state = record["rng_state"] if self.position else None

    # -- hooks of a training run -----------------------------------------------------------
    def save_checkpoint(self):
        """Save a checkpoint and return its path; without a run folder there is none (None)."""
        return None

    def checkpoint_due(self) -> bool:
        return False

    def on_best(self) -> None:
        """Called when an epoch reached a new lowest validation loss."""

    # -- the loop ---------------------------------------------------------------------------
    def say(self, message: str) -> None:
        """Print a message (above the progress bar) when ``verbose``."""
        if self.verbose:
            if self.bar is not None and not self.bar.disable:
                tqdm.write(message, file=sys.stdout)
            else:
                print(message, flush=True)

    def snapshot(self):
        return self.model.parameter_values(), self.model.optimizer_state(self.step_key)

    def restore(self, snapshot) -> None:
        params, state = snapshot
        self.model.set_parameter_values(params)
        self.model.set_optimizer_state(self.step_key, state)

    def run(self) -> History:
        """Train until ``epochs`` epochs are done or early stopping ends it; returns this call's :class:`History`."""
        failures = 0
        good = self.snapshot()
        window = {"loss": 0.0, "targets": 0, "tokens": 0, "time": 0.0}
        if self.settings.patience is not None and self.waited >= self.settings.patience:
            self.stopped_early = True  # resumed for more epochs after its patience ran out on its last one
        try:
            while self.epoch < self.epochs and not self.stopped_early:
                if self.epoch_rng_state is None:
                    self.epoch_rng_state = _rng_state(self.rng)
                else:
                    self.rng.bit_generator.state = self.epoch_rng_state
                count = self.batches.begin_epoch(self.rng)
                self.bar = tqdm(total=count, initial=self.position, desc=f"epoch {self.epoch + 1}/{self.epochs}",
                                unit="batch", disable=not self.progress, leave=False, file=sys.stderr)
                with self.bar:
                    while self.position < count:
                        if self.interrupt_requested:
                            raise Interrupted(self.save_checkpoint(), self.step)
                        start = time.perf_counter()
                        # The dropout masks of a step depend on the seed and the step alone, so a resumed
                        # run, and a step redone at a lower learning rate, draw the same ones.
                        dropout_rng = np.random.default_rng((self.seed, self.step))
                        loss, targets, tokens, commit = self.batches.step(self.train_fn, self.position, self.lr,
                                                                          dropout_rng)
                        elapsed = time.perf_counter() - start
                        after = self.snapshot() if math.isfinite(loss) else None
                        if after is None or not _finite(after):
                            # a finite loss can still come with an update that overflowed
                            self.restore(good)
                            failures += 1
                            self._failed(loss, after is None, failures)
                            continue
                        failures, good = 0, after
                        if commit is not None:
                            commit()
                        self.step += 1
                        self.position += 1
                        self.epoch_loss += loss
                        self.epoch_targets += targets
                        for name, value in (("loss", loss), ("targets", targets), ("tokens", tokens),
                                            ("time", elapsed)):
                            window[name] += value
                        rate = window["tokens"] / window["time"] if window["time"] > 0 else float("inf")
                        self.bar.set_postfix(loss=f"{loss / max(targets, 1):.4f}", tok_s=f"{rate:.0f}", refresh=False)
                        self.bar.update()
                        if self.step % self.log_every == 0:
                            self.log.write("train", step=self.step, epoch=self.epoch + 1,
                                           loss=window["loss"] / max(window["targets"], 1),
                                           learning_rate=self.lr, tokens_per_s=round(rate, 1))
                            window = dict.fromkeys(window, 0)
                        if self.callback is not None:
                            self.callback(self, loss)
                        if self.checkpoint_due():
                            self.save_checkpoint()
                    self.bar.refresh()  # the epoch's last loss and speed, however short the epoch
                if self.interrupt_requested:
                    raise Interrupted(self.save_checkpoint(), self.step)
                self._end_epoch()
        finally:
            self.bar = None
        if self.restore_best and self.best_params is not None:
            self.model.set_parameter_values(self.best_params)
            self.say(f"restored the parameters of epoch {self.best_epoch}, the best on the validation data")
        return self.history

    def _failed(self, loss, loss_was_nonfinite, failures) -> None:
        what = f"the loss was {loss}" if loss_was_nonfinite else "the update made a parameter infinite"
        self.lr *= 0.5
        self.log.write("nonfinite", step=self.step + 1, loss=loss, learning_rate=self.lr, failures=failures)
        if failures >= self.max_failures:
            path = self.save_checkpoint()
            advice = (f"The last good state is in {path}: resume it with a lower learning rate, or start again "
                      "with gradient clipping" if path else
                      "Start again with a lower learning rate or with gradient clipping")
            raise TrainingError(f"{what} at step {self.step + 1}, {failures} times in a row, even after halving the "
                                f"learning rate to {self.lr:.3g}; stopped. {advice}")
        self.say(f"step {self.step + 1}: {what}; undid the step and halved the learning rate to {self.lr:.6g}")

    def _end_epoch(self) -> None:
        train_loss = self.epoch_loss / max(self.epoch_targets, 1)
        self.history.append(train_loss)
        self.history.learning_rates.append(self.lr)
        message = f"epoch {self.epoch + 1}/{self.epochs}: training loss {train_loss:.4f}"
        validation_loss = None
        if self.validate is not None:
            validation_loss = float(self.validate())
            self.history.validation.append(validation_loss)
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
        self.batches.end_epoch()
        if validation_loss is not None:
            self._watch(validation_loss)
        watched = train_loss if validation_loss is None else validation_loss
        rate = self.schedule.next_rate(self.lr, watched if math.isfinite(watched) else math.inf)
        if rate != self.lr:
            self.log.write("schedule", step=self.step, epoch=self.epoch, learning_rate=rate)
            self.say(f"the {self.schedule.name} schedule set the learning rate to {rate:.3g}")
            self.lr = rate

    def _watch(self, validation_loss) -> None:
        """Keep the best parameters and count the epochs without improvement (a non-finite loss is none)."""
        if math.isfinite(validation_loss) and (self.best_loss is None or validation_loss < self.best_loss):
            self.best_loss, self.best_epoch, self.waited = validation_loss, self.epoch, 0
            self.best_params = self.model.parameter_values()
            self.on_best()
        else:
            self.waited += 1
        self.history.best_epoch = self.best_epoch
        patience = self.settings.patience
        if patience is not None and self.waited >= patience and self.epoch < self.epochs:
            self.stopped_early = self.history.stopped_early = True
            self.log.write("early_stop", step=self.step, epoch=self.epoch, best_epoch=self.best_epoch)
            self.say(f"stopped early: no better validation loss for {self.waited} epoch(s) since epoch "
                     f"{self.best_epoch}")


def _prefixed(arrays, prefix) -> dict:
    return {k[len(prefix):]: v for k, v in arrays.items() if k.startswith(prefix)}


def _finite(snapshot) -> bool:
    params, state = snapshot
    return all(np.all(np.isfinite(a)) for a in (*params.values(), *state.values()))


def _rng_state(rng) -> dict:
    return json.loads(json.dumps(rng.bit_generator.state))
