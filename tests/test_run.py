"""Training runs (aerann.training.run): checkpoints that survive Ctrl-C and SIGKILL, exact resume, NaN rollback, metrics, plots.

One small Elman language model, compiled once in this process (module
fixture); the interrupted runs are real processes that are sent SIGINT and
SIGKILL while they train.
"""

import importlib.util
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from aerann.training import run

ROOT = Path(__file__).resolve().parents[1]

# The run used throughout: the subprocesses execute this file, the tests import it.
SCRIPT = '''
import sys
import time

from aerann.data.corpora import agreement_sentences
from aerann.data.text import training_data, Vocabulary
from aerann.models import LanguageModel
from aerann.training import run

SETTINGS = dict(epochs=3, batch_size=4, optimizer="rmsprop", learning_rate=0.01, seed=5,
                checkpoint_every=3, keep=2, log_every=2, progress=False)


def setup():
    sentences = agreement_sentences(48, seed=3)
    vocab = Vocabulary.build(sentences, 30)
    X, Y = training_data(sentences, vocab)
    model = LanguageModel(len(vocab), 4, layers=[("elman", 8)], seed=2)
    return model, X[:40], Y[:40], (X[40:], Y[40:])


if __name__ == "__main__":
    out, mode, delay = sys.argv[1], sys.argv[2], float(sys.argv[3])
    model, X, Y, validation = setup()
    try:
        run.train(model, X, Y, out, validation=validation, resume=mode == "resume",
                  callback=lambda r, loss: time.sleep(delay), **SETTINGS)
    except run.Interrupted as interrupted:
        print(f"stopped: {interrupted}", file=sys.stderr)
        sys.exit(1)
'''


@pytest.fixture(scope="module")
def script(tmp_path_factory):
    path = tmp_path_factory.mktemp("script") / "tiny_run.py"
    path.write_text(SCRIPT)
    spec = importlib.util.spec_from_file_location("tiny_run", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return path, module


@pytest.fixture(scope="module")
def reference(script, tmp_path_factory):
    """An uninterrupted run: its result, and the model (compiled once, reused by the other tests)."""
    _, module = script
    model, X, Y, validation = module.setup()
    out = tmp_path_factory.mktemp("reference") / "run"
    result = run.train(model, X, Y, out, validation=validation, verbose=False, **module.SETTINGS)
    params = {name: p.get_value() for name, p in model.params.items()}
    return {"model": model, "data": (X, Y, validation), "result": result, "params": params, "out": out}


def params_of(model):
    return {name: p.get_value() for name, p in model.params.items()}


def start(script_path, out, mode, delay):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.Popen(
        [sys.executable, str(script_path), str(out), mode, str(delay)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )


def wait_for(predicate, process, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        if process.poll() is not None:
            raise AssertionError(f"the run ended early ({process.returncode}): {process.stderr.read()}")
        time.sleep(0.05)
    process.kill()
    raise AssertionError("timed out waiting for the run")


def test_a_run_writes_metrics_checkpoints_model_and_plot(reference):
    result, out = reference["result"], reference["out"]
    assert result.steps == 30 and result.epochs == 3  # 40 sentences in batches of 4, 3 epochs
    assert len(result.train_losses) == len(result.validation_losses) == 3
    assert result.train_losses[-1] < result.train_losses[0]
    assert [p.name for p in run.checkpoints(out)] == ["checkpoint-00000027.npz", "checkpoint-00000030.npz"]
    records = run.read_metrics(out)
    events = [r["event"] for r in records]
    assert events.count("compile") == 1 and events[0] == "start"
    train = [r for r in records if r["event"] == "train"]
    assert [r["step"] for r in train] == list(range(2, 31, 2))
    assert all(r["tokens_per_s"] > 0 and r["learning_rate"] == 0.01 for r in train)
    assert [r["epoch"] for r in records if r["event"] == "validation"] == [1, 2, 3]
    assert (out / "loss.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    model = type(reference["model"]).load(out / "model.npz")
    for name, value in params_of(model).items():
        np.testing.assert_array_equal(value, reference["params"][name])
    checkpoint = run.load_checkpoint(run.checkpoints(out)[-1])
    assert checkpoint.optimizer and all(np.any(v != 0) for v in checkpoint.optimizer.values())  # rmsprop caches
    assert not list(out.rglob(".*.tmp"))


@pytest.mark.slow
def test_ctrl_c_then_sigkill_then_resume_gives_the_same_parameters_bit_for_bit(script, reference, tmp_path):
    script_path, module = script
    out = tmp_path / "run"

    # Ctrl-C: the run finishes its step, saves a checkpoint and exits with a message.
    process = start(script_path, out, "fresh", 0.05)
    wait_for(lambda: run.checkpoints(out) and run.latest_checkpoint(out).training["step"] >= 3, process)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 1 and "interrupted at step" in err and "Traceback" not in err
    interrupted = run.latest_checkpoint(out).training["step"]
    assert 3 <= interrupted < 30

    # SIGKILL, at whatever moment a later checkpoint has appeared.
    process = start(script_path, out, "resume", 0.05)
    wait_for(lambda: run.checkpoints(out) and run.latest_checkpoint(out).training["step"] > interrupted + 3, process)
    process.send_signal(signal.SIGKILL)
    process.communicate(timeout=60)
    killed = run.latest_checkpoint(out)
    assert killed is not None and killed.training["step"] < 30

    # Resume in this process, with the already compiled model: its parameters are replaced by the checkpoint's.
    model = reference["model"]
    X, Y, validation = reference["data"]
    result = run.train(model, X, Y, out, validation=validation, resume=True, verbose=False, **module.SETTINGS)
    assert result.steps == 30
    for name, value in params_of(model).items():
        np.testing.assert_array_equal(value, reference["params"][name], err_msg=name)
    final, expected = run.load_checkpoint(result.checkpoint), run.load_checkpoint(reference["result"].checkpoint)
    for name, value in expected.optimizer.items():
        np.testing.assert_array_equal(final.optimizer[name], value, err_msg=name)
    assert final.training["rng_state"] == expected.training["rng_state"]
    assert not list(out.rglob(".*.tmp"))

    # The metrics log reads as one run: the steps redone after the kill replace the ones lost.
    records = run.read_metrics(out)
    assert [r["step"] for r in records if r["event"] == "train"] == list(range(2, 31, 2))
    assert sorted({r["epoch"] for r in records if r["event"] == "validation"}) == [1, 2, 3]
    assert sum(r["event"] == "resume" for r in records) == 2
    assert run.plot(out, tmp_path / "again.png").stat().st_size > 1000


class Poisoned:
    """The model's compiled step, except that the calls numbered in ``bad`` ruin the parameters and return NaN."""

    def __init__(self, model, key, bad):
        self.model, self.key, self.bad, self.calls = model, key, bad, []
        self.compiled = model._function(key)
        self.maker = self.compiled.maker

    def __call__(self, Xb, Yb, mask, lr):
        self.calls.append((params_of(self.model), lr))
        loss = self.compiled(Xb, Yb, mask, lr)
        if len(self.calls) in self.bad:
            for p in self.model.params.values():
                p.set_value(np.full_like(p.get_value(), np.nan))
            return np.nan
        return loss

    def __enter__(self):
        self.model._functions[self.key] = self
        return self

    def __exit__(self, *exc):
        self.model._functions[self.key] = self.compiled


KEY = ("rmsprop", (), 0.0, None, ())  # the model's train_key: no parameter frozen


def test_a_non_finite_step_is_undone_and_the_learning_rate_halved(reference, tmp_path, capsys):
    model = reference["model"]
    X, Y, _ = reference["data"]
    with Poisoned(model, KEY, bad={3}) as poisoned:
        result = run.train(model, X[:12], Y[:12], tmp_path / "run", epochs=1, batch_size=4, optimizer="rmsprop",
                           learning_rate=0.01, checkpoint_every=0, checkpoint_minutes=1e-9, keep=2)
    calls = poisoned.calls
    assert len(calls) == 4 and result.steps == 3 and result.learning_rate == 0.005
    before, after = calls[2][0], calls[3][0]  # the retry starts from the state before the poisoned step
    for name in before:
        np.testing.assert_array_equal(after[name], before[name])
    assert calls[3][1] == 0.005
    printed = capsys.readouterr().out
    assert "step 3: the loss was nan; undid the step and halved the learning rate to 0.005" in printed
    assert [r["learning_rate"] for r in run.read_metrics(tmp_path / "run") if r["event"] == "nonfinite"] == [0.005]
    assert len(run.checkpoints(tmp_path / "run")) == 2  # one per step (minutes ~ 0), the last 2 kept


def test_repeated_failures_stop_the_run_with_a_clear_message(reference, tmp_path):
    model = reference["model"]
    X, Y, _ = reference["data"]
    with Poisoned(model, KEY, bad=set(range(2, 100))), pytest.raises(run.TrainingError) as error:
        run.train(model, X[:8], Y[:8], tmp_path / "run", epochs=1, batch_size=4, optimizer="rmsprop",
                  learning_rate=0.01, verbose=False)
    assert str(error.value) == (
        "the loss was nan at step 2, 5 times in a row, even after halving the learning rate to 0.000313; stopped. "
        f"The last good state is in {tmp_path / 'run' / 'checkpoints' / 'checkpoint-00000001.npz'}: "
        "resume it with a lower learning rate, or start again with gradient clipping"
    )
    checkpoint = run.latest_checkpoint(tmp_path / "run")  # the last good state was saved
    assert checkpoint.training["step"] == 1 and checkpoint.training["learning_rate"] == 0.01 / 32
    assert np.all(np.isfinite(checkpoint.params["output.W"]))
    result = run.train(model, X[:8], Y[:8], tmp_path / "run", epochs=1, batch_size=4, optimizer="rmsprop",
                       learning_rate=0.01, resume=True, resume_learning_rate=0.001, verbose=False)
    assert result.steps == 2 and result.learning_rate == 0.001


def test_resume_refuses_other_settings_or_data(reference, tmp_path):
    model = reference["model"]
    X, Y, _ = reference["data"]
    out = tmp_path / "run"
    run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", verbose=False)
    with pytest.raises(ValueError, match="already holds a run"):
        run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", verbose=False)
    with pytest.raises(run.TrainingError, match="batch_size: 4 then, 2 now"):
        run.train(model, X[:8], Y[:8], out, epochs=2, batch_size=2, optimizer="rmsprop", resume=True, verbose=False)
    with pytest.raises(run.TrainingError, match="data"):
        run.train(model, X[:6], Y[:6], out, epochs=2, batch_size=4, optimizer="rmsprop", resume=True, verbose=False)
    with pytest.raises(ValueError, match="no run to resume"):
        run.train(model, X, Y, tmp_path / "nothing", resume=True)


def test_a_truncated_newest_checkpoint_is_skipped_on_resume(reference, tmp_path, capsys):
    model = reference["model"]
    X, Y, _ = reference["data"]
    out = tmp_path / "run"
    run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", checkpoint_every=1, verbose=False)
    newest = run.checkpoints(out)[-1]
    newest.write_bytes(newest.read_bytes()[:200])
    (out / "metrics.jsonl").open("a").write('{"event": "tra')  # a line cut short by a kill
    result = run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", checkpoint_every=1,
                       resume=True, verbose=False)
    assert "skipping an unreadable checkpoint" in capsys.readouterr().err
    assert result.steps == 2
    assert any(r["event"] == "resume" for r in run.read_metrics(out))


def test_a_run_killed_before_its_first_checkpoint_starts_again_on_resume(reference, tmp_path, capsys):
    model = reference["model"]
    X, Y, _ = reference["data"]
    out = tmp_path / "run"
    run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", verbose=False)
    for path in run.checkpoints(out):
        path.unlink()
    result = run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", resume=True,
                       verbose=False)
    assert "has no checkpoint yet: starting from the beginning" in capsys.readouterr().err
    assert result.steps == 2


def test_any_model_trains_in_a_run_and_a_new_run_starts_a_new_optimizer(tmp_path):
    from aerann.models import SequenceTagger

    rng = np.random.default_rng(0)
    X = [rng.integers(0, 2, size=(n, 1)).astype(float) for n in rng.integers(2, 7, size=12)]
    Y = [np.cumsum(x[:, 0]).astype(int) % 2 for x in X]  # parity so far
    model = SequenceTagger(1, 2, layers=[("elman", 4, {"activation": "sigmoid"})], seed=0)
    initial = params_of(model)
    settings = dict(batch_size=4, optimizer="momentum", options={"mu": 0.5}, learning_rate=0.1, verbose=False)
    whole = run.train(model, X, Y, tmp_path / "whole", epochs=2, **settings)
    assert whole.steps == 6 and len(whole.train_losses) == 2
    trained = params_of(model)
    for name, shared in model.params.items():
        shared.set_value(initial[name])
    run.train(model, X, Y, tmp_path / "split", epochs=1, **settings)  # the velocities start at zero again
    run.train(model, X, Y, tmp_path / "split", epochs=2, resume=True, **settings)
    for name, value in params_of(model).items():
        np.testing.assert_array_equal(value, trained[name], err_msg=name)


def test_two_processes_cannot_train_in_one_folder(reference, tmp_path):
    import fcntl

    model = reference["model"]
    X, Y, _ = reference["data"]
    out = tmp_path / "run"
    out.mkdir()
    with open(out / ".lock", "a") as held:  # what a running process holds
        fcntl.flock(held.fileno(), fcntl.LOCK_EX)
        with pytest.raises(ValueError, match="is in use by another training process"):
            run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", verbose=False)
    assert not run.checkpoints(out)
    run.train(model, X[:8], Y[:8], out, epochs=1, batch_size=4, optimizer="rmsprop", verbose=False)


def test_metrics_survive_json_round_trip_and_plot_needs_a_log(tmp_path):
    with pytest.raises(FileNotFoundError, match="no metrics log"):
        run.plot(tmp_path)
    log = run.MetricsLog(tmp_path / "metrics.jsonl")
    log.write("train", step=1, epoch=1, loss=float("nan"))
    log.close()
    assert json.loads((tmp_path / "metrics.jsonl").read_text())["loss"] == "nan"


def test_fit_runs_the_same_loop_as_a_training_run(script, reference):
    _, module = script
    model, X, Y, validation = module.setup()
    history = model.fit(X, Y, epochs=3, batch_size=4, optimizer="rmsprop", learning_rate=0.01, seed=5,
                        validation=validation)
    for name, value in reference["params"].items():
        np.testing.assert_array_equal(model.params[name].get_value(), value, err_msg=name)
    assert list(history) == reference["result"].train_losses
    assert history.validation == reference["result"].validation_losses
    assert history.learning_rates == [0.01] * 3 and history.best_epoch == reference["result"].best_epoch


def test_fit_undoes_a_non_finite_step_too_and_stops_after_repeated_failures(script):
    _, module = script
    model, X, Y, _ = module.setup()
    with Poisoned(model, KEY, bad={2}) as poisoned:
        history = model.fit(X[:12], Y[:12], epochs=1, batch_size=4, optimizer="rmsprop", learning_rate=0.01)
    calls = poisoned.calls
    assert len(calls) == 4 and history.learning_rates == [0.005]
    for name, value in calls[1][0].items():  # the retry starts from the state before the poisoned step
        np.testing.assert_array_equal(calls[2][0][name], value)
    assert all(np.all(np.isfinite(p.get_value())) for p in model.params.values())
    with Poisoned(model, KEY, bad=set(range(1, 100))), pytest.raises(run.TrainingError) as error:
        model.fit(X[:8], Y[:8], epochs=1, batch_size=4, optimizer="rmsprop", learning_rate=0.01)
    assert str(error.value) == (
        "the loss was nan at step 1, 5 times in a row, even after halving the learning rate to 0.000313; stopped. "
        "Start again with a lower learning rate or with gradient clipping"
    )


def test_early_stopping_after_patience_epochs_restores_the_best_epoch(script):
    from aerann.training import engine
    from aerann.training import settings as training_settings

    _, module = script
    model, X, Y, _ = module.setup()
    start = params_of(model)
    settings = training_settings.check(0.01, "rmsprop")
    engine.Trainer(model, engine.SequenceBatches(model, X, Y, 4), settings, 2, seed=5).run()
    after_two = params_of(model)
    for name, value in start.items():
        model.params[name].set_value(value)
    model.set_optimizer_state(KEY, {n: np.zeros_like(v) for n, v in model.optimizer_state(KEY).items()})
    curve = iter([3.0, 2.0, 2.5, 2.6, 1.0, 0.5])  # no new best after epoch 2: patience 2 stops after epoch 4
    settings = training_settings.check(0.01, "rmsprop", patience=2)
    history = engine.Trainer(model, engine.SequenceBatches(model, X, Y, 4), settings, 6, seed=5,
                             validation=lambda: next(curve), restore_best=True).run()
    assert len(history) == 4 and history.validation == [3.0, 2.0, 2.5, 2.6]
    assert history.best_epoch == 2 and history.stopped_early
    for name, value in after_two.items():
        np.testing.assert_array_equal(model.params[name].get_value(), value, err_msg=name)


def test_a_run_keeps_the_best_validation_model_and_stops_when_patience_runs_out(script, tmp_path):
    _, module = script
    model, X, Y, validation = module.setup()
    patience, epochs = 1, 8
    result = run.train(model, X, Y, tmp_path / "run", validation=validation, epochs=epochs, batch_size=4,
                       optimizer="rmsprop", learning_rate=0.3, patience=patience, seed=5, verbose=False)
    losses = result.validation_losses
    best = int(np.argmin(losses)) + 1
    assert result.best_epoch == best
    if result.stopped_early:
        assert len(losses) == best + patience < epochs
    else:
        assert len(losses) == epochs and all(b < a for a, b in zip(losses, losses[1:]))
    events = [r["event"] for r in run.read_metrics(tmp_path / "run")]
    assert ("early_stop" in events) == result.stopped_early and events.count("best") >= 1
    kept = type(model).load(tmp_path / "run" / run.BEST_FILE)
    assert kept.loss(*validation) == pytest.approx(min(losses), rel=1e-12)
