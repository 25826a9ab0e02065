"""Data-parallel training on the JAX backend: a minibatch split over devices trains as on one device.

tests/conftest.py gives JAX four CPU devices (XLA_FLAGS); each minibatch
is sharded along its batch axis over them and XLA sums the gradient
across them, so the parameters after several steps are those of one
device up to the order of the sums.  The minibatch widths used here do
not divide by four: the padding sequences they get change nothing.
"""

import os
import re
import socket
import subprocess
import sys

import aesara
import numpy as np
import pytest

import aerann
from aerann.backend import compiler, devices
from aerann.cli import main
from aerann.models import LanguageModel
from aerann.training import run

VOCAB = 7
TOKENS = np.random.default_rng(0).integers(VOCAB, size=240)
COLUMNS, BPTT = 6, 5  # six columns do not divide over four devices: two all-padding columns are added


def stream_model():
    """A GRU-under-LSTM language model with recurrent dropout, for the stream runs."""
    return LanguageModel(VOCAB, 3, layers=[("gru", 4), ("lstm", 3)], seed=1, recurrent_dropout=0.2)


def train_stream(lm, out, epochs, devices, resume=False, callback=None):
    """Stream training in the run folder ``out`` on ``devices`` devices (a checkpoint every 7 steps)."""
    return run.train_stream(lm, TOKENS, out, bptt=BPTT, batch_size=COLUMNS, epochs=epochs, optimizer="adam",
                            learning_rate=0.05, devices=devices, resume=resume, checkpoint_every=7,
                            plot_loss=False, verbose=False, progress=False, callback=callback)

@pytest.fixture(autouse=True)
def on_jax():
    with compiler.backend("jax"):
        yield


def sentences(count=13, seed=0):
    rng = np.random.default_rng(seed)
    X = [rng.integers(VOCAB, size=rng.integers(2, 7)) for _ in range(count)]
    return X, [np.roll(x, -1) for x in X]


def fresh(model, initial):
    """The model's initial parameters back, and every optimizer state at zero."""
    model.set_parameter_values(initial)
    for key in model.optimizer_states:
        model.set_optimizer_state(key, {n: np.zeros_like(v) for n, v in model.optimizer_state(key).items()})
    return model


def assert_same_parameters(a, b, rtol):
    for name, value in a.items():
        np.testing.assert_allclose(b[name], value, rtol=rtol, atol=rtol * 1e-2, err_msg=name)


def spread(value):
    """How many devices a JAX array lies on, and its partition spec."""
    return len(value.sharding.device_set), tuple(value.sharding.spec)


@pytest.fixture(scope="module")
def tagged():
    """One model (GRU under LSTM, dropout on every layer) and its initial parameters, for every fit below."""
    with compiler.backend("jax"):
        model = LanguageModel(VOCAB, 3, layers=[("gru", 4), ("lstm", 3)], seed=1, dropout=0.2,
                              recurrent_dropout=0.2)
    return model, model.parameter_values()


@pytest.fixture
def placed(monkeypatch):
    """(shape, devices, partition spec) of every array a DataParallel placed."""
    seen, place = [], devices.DataParallel.place

    def recording(self, value, sharding):
        result = place(self, value, sharding)
        seen.append((result.shape, *spread(result)))
        return result

    monkeypatch.setattr(devices.DataParallel, "place", recording)
    return seen


def test_fit_on_four_devices_gives_the_parameters_of_one(tagged, placed):
    model, initial = tagged
    X, Y = sentences()
    options = dict(epochs=2, batch_size=6, optimizer="adam", learning_rate=0.05, validation=(X[:4], Y[:4]))
    one = fresh(model, initial).fit(X, Y, **options)
    expected = model.parameter_values()
    assert not placed
    four = fresh(model, initial).fit(X, Y, devices=4, **options)
    assert_same_parameters(expected, model.parameter_values(), 1e-10)
    np.testing.assert_allclose(four, one, rtol=1e-10)
    np.testing.assert_allclose(four.validation, one.validation, rtol=1e-10)
    # it was split: every minibatch went to four devices along its batch axis (6 sequences widened to 8),
    # and every parameter and optimizer state is replicated on all four
    batches = [shape for shape, count, spec in placed if spec == (None, devices.AXIS)]
    assert batches and all(shape[1] == 8 for shape in batches) and all(c == 4 for _, c, _ in placed)
    assert spread(model.params["output.W"].container.storage[0]) == (4, ())


def test_float32_on_four_devices_equals_one_device():
    X, Y = sentences(9, seed=1)
    with aesara.config.change_flags(floatX="float32"):
        model = LanguageModel(VOCAB, 3, layers=[("elman", 4)], seed=2)
        initial = model.parameter_values()
        for train in (lambda **d: model.fit(X, Y, epochs=2, batch_size=5, learning_rate=0.1, **d),
                      lambda **d: model.fit_stream(TOKENS, bptt=BPTT, batch_size=COLUMNS, learning_rate=0.1, **d)):
            train()
            expected = model.parameter_values()
            fresh(model, initial)
            train(devices="all")
            assert model.params["output.W"].get_value().dtype == np.float32
            assert_same_parameters(expected, model.parameter_values(), 1e-5)
            fresh(model, initial)


@pytest.fixture(scope="module")
def streamed():
    with compiler.backend("jax"):
        model = stream_model()
    return model, model.parameter_values()


def test_fit_stream_on_four_devices_carries_sharded_states_and_gives_the_parameters_of_one(streamed, placed):
    model, initial = streamed
    options = dict(bptt=BPTT, batch_size=COLUMNS, epochs=2, learning_rate=0.05)
    one = fresh(model, initial).fit_stream(TOKENS, **options)
    expected = model.parameter_values()
    four = fresh(model, initial).fit_stream(TOKENS, devices=4, **options)
    assert_same_parameters(expected, model.parameter_values(), 1e-10)
    assert [r["loss"] for r in four] == pytest.approx([r["loss"] for r in one], rel=1e-10)
    # the carried states of the GRU (h) and the LSTM (h, c), 6 columns widened to 8, split along the batch
    states = [shape for shape, count, spec in placed if spec == (devices.AXIS, None) and shape[1] in (3, 4)]
    assert states and all(shape[0] == 8 for shape in states)


class Crash(Exception):
    pass


def test_a_stream_run_on_four_devices_resumes_on_one_and_ends_as_one_never_stopped(streamed, tmp_path):
    model, initial = streamed
    train_stream(fresh(model, initial), tmp_path / "whole", epochs=2, devices=None)
    expected = model.parameter_values()

    def crash(trainer, loss):
        if trainer.step == 10:
            raise Crash

    with pytest.raises(Crash):
        train_stream(fresh(model, initial), tmp_path / "cut", epochs=2, devices=4, callback=crash)
    checkpoint = run.latest_checkpoint(tmp_path / "cut")
    # step 7, in the middle of the first epoch: the carried states of the six real columns, not the padding
    assert checkpoint.training["step"] == 7
    assert checkpoint.arrays["stream/0"].shape == (COLUMNS, 4)
    assert np.any(checkpoint.arrays["stream/0"])
    train_stream(fresh(model, initial), tmp_path / "cut", epochs=2, devices=None, resume=True)
    assert_same_parameters(expected, model.parameter_values(), 1e-10)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TINY = ["train", "--corpus", "agreement", "--sentences", "40", "--vocab", "20", "--hidden", "3", "--embed", "3",
        "--epochs", "1", "--batch-size", "6", "--float64", "--no-plot", "--checkpoint-every", "5"]


@pytest.mark.slow
def test_two_processes_of_the_command_train_as_one_run_equal_to_one_process(tmp_path):
    """Two processes with two CPU devices each (JAX's Gloo collectives) against one process with four."""
    options = [*TINY, "--sentences", "80", "--stream", "--bptt", "5", "--recurrent-dropout", "0.2", "--backend", "jax"]
    one = tmp_path / "one"
    assert main([*options, "--devices", "4", "--out", str(one)]) == 0
    address = f"127.0.0.1:{free_port()}"
    env = dict(os.environ, XLA_FLAGS="--xla_force_host_platform_device_count=2")
    two = tmp_path / "two"
    processes = [subprocess.Popen([sys.executable, "-m", "aerann.cli", *options, "--devices", "all", "--coordinator",
                                   address, "--num-processes", "2", "--process-id", str(i), "--out", str(two)],
                                  env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
                 for i in range(2)]
    logs = [p.communicate(timeout=300)[0] for p in processes]
    assert [p.returncode for p in processes] == [0, 0], "\n".join(logs)
    trained = LanguageModel.load(two / run.MODEL_FILE).parameter_values()
    assert_same_parameters(LanguageModel.load(one / run.MODEL_FILE).parameter_values(), trained, 1e-10)
    # one run folder, written by process 0 alone: the files of the one-process run, checkpoints included
    assert sorted(p.name for p in two.iterdir()) == sorted(p.name for p in one.iterdir())
    assert [p.name for p in run.checkpoints(two)] == [p.name for p in run.checkpoints(one)]
    assert "saved" in logs[0] and "saved" not in logs[1]


def test_the_command_refuses_bad_devices_and_processes_and_writes_nothing(tmp_path, capsys):
    with compiler.backend("c"):
        assert main([*TINY, "--devices", "2", "--out", str(tmp_path / "c")]) == 1
    assert "--devices (data-parallel training) needs the JAX backend" in capsys.readouterr().err
    assert not (tmp_path / "c").exists()
    for bad, message in (("0", "--devices must be positive, got 0"), ("9", "--devices=9, but JAX sees only 4")):
        assert main([*TINY, "--backend", "jax", "--devices", bad, "--out", str(tmp_path / bad)]) == 1
        assert message in capsys.readouterr().err
        assert not (tmp_path / bad).exists()
    assert main([*TINY, "--backend", "jax", "--devices", "two", "--out", str(tmp_path / "two")]) == 2
    assert "expected a positive integer or 'all', got 'two'" in capsys.readouterr().err
    for bad, message in ((["--coordinator", "127.0.0.1:1"], "needs all of --coordinator HOST:PORT"),
                         (["--coordinator", "nowhere", "--num-processes", "2", "--process-id", "0"],
                          "the coordinator must be HOST:PORT"),
                         (["--coordinator", "127.0.0.1:1", "--num-processes", "2", "--process-id", "2"],
                          "--process-id must be in [0, 2)")):
        assert main([*TINY, "--backend", "jax", *bad, "--out", str(tmp_path / "p")]) == 1
        assert message in capsys.readouterr().err
        assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("value, error, message", [
    (0, ValueError, "devices must be positive, got 0"),
    (-1, ValueError, "devices must be positive, got -1"),
    (2.5, TypeError, 'devices must be a positive integer or "all", got 2.5'),
    (True, TypeError, 'devices must be a positive integer or "all", got True'),
    ("two", ValueError, 'devices must be a positive integer or "all", got \'two\''),
    (5, ValueError, "devices=5, but JAX sees only 4 device(s): cpu"),
])
def test_bad_device_counts_are_named_before_anything_is_written(tagged, tmp_path, value, error, message):
    model, _ = tagged
    X, Y = sentences(3)
    with pytest.raises(error, match=re.escape(message)):
        model.fit(X, Y, devices=value)
    with pytest.raises(error, match=re.escape(message)):
        run.train(model, X, Y, tmp_path / "run", devices=value)
    assert not (tmp_path / "run").exists()


def test_devices_need_the_jax_backend(tagged):
    model, _ = tagged
    with compiler.backend("c"), pytest.raises(ValueError, match="needs the JAX backend"):
        model.fit(*sentences(3), devices=1)


@pytest.mark.parametrize("arguments, error, message", [
    (("localhost", 2, 0), ValueError, "the coordinator must be HOST:PORT"),
    (("localhost:99999", 2, 0), ValueError, "the coordinator must be HOST:PORT"),
    (("localhost:1234", 0, 0), ValueError, "num_processes must be positive"),
    (("localhost:1234", 2, 2), ValueError, r"process_id must be in \[0, 2\)"),
    (("localhost:1234", 2, -1), ValueError, r"process_id must be in \[0, 2\)"),
    (("localhost:1234", 2, 1.0), TypeError, "process_id must be an integer"),
])
def test_bad_process_arguments_are_named(arguments, error, message):
    with pytest.raises(error, match=message):
        aerann.initialize_distributed(*arguments)


def test_a_process_that_cannot_reach_the_coordinator_stops_with_a_message():
    address = f"127.0.0.1:{free_port()}"  # nobody serves there
    with pytest.raises(RuntimeError, match=f"could not reach the coordinator at {address} within 1 s"):
        aerann.initialize_distributed(address, 2, 1, timeout=1)
