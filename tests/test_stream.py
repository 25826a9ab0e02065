"""Stream training: one text cut into columns, trained in chunks with the states carried and the gradient cut."""

import numpy as np
import pytest

from aerann import LanguageModel
from aerann.data import batching
from aerann.training import run

V = 7


@pytest.fixture(scope="module")
def shared_model():
    """One GRU-under-LSTM model (states h; h and c) for every test, so each function compiles once."""
    model = LanguageModel(V, 3, layers=[("gru", 4), ("lstm", 3)], seed=1)
    return model, {name: param.get_value() for name, param in model.params.items()}


@pytest.fixture
def lm(shared_model):
    """The shared model with its initial parameters."""
    model, initial = shared_model
    for name, value in initial.items():
        model.params[name].set_value(value)
    return model


def parameters(model):
    return {name: param.get_value() for name, param in model.params.items()}


def restore(model, values):
    for name, value in values.items():
        model.params[name].set_value(value)


def stream(length, seed=0):
    """A text with structure to learn: mostly 0 1 2 3 4 5 6 0 1 ..., with some noise."""
    rng = np.random.default_rng(seed)
    tokens = np.arange(length) % V
    noisy = rng.random(length) < 0.1
    tokens[noisy] = rng.integers(V, size=noisy.sum())
    return tokens.astype(np.int32)


def test_columns_are_consecutive_pieces_of_the_stream_and_chunks_cover_every_target():
    columns = batching.stream_columns(np.arange(23), batch_size=3, bptt=2)
    assert columns.shape == (7, 3) and columns[:, 1].tolist() == list(range(7, 14))  # 2 tokens left over
    chunks = list(batching.stream_chunks(columns, bptt=4))
    assert [len(x) for x, _ in chunks] == [4, 2]
    np.testing.assert_array_equal(np.concatenate([y for _, y in chunks]), columns[1:])
    np.testing.assert_array_equal(np.concatenate([x for x, _ in chunks]), columns[:-1])


def test_a_streams_loss_carried_over_chunks_is_its_columns_loss_run_whole(lm):
    tokens = stream(60)
    columns = batching.stream_columns(tokens, batch_size=4, bptt=3)
    whole = lm.loss([c[:-1] for c in columns.T], [c[1:] for c in columns.T])
    assert lm.stream_loss(tokens, bptt=3, batch_size=4) == pytest.approx(whole, rel=1e-10)


def test_each_chunk_starts_from_the_last_ones_final_states_and_its_gradient_stops_there(lm):
    tokens, start = stream(4 * 10), parameters(lm)
    lm.fit_stream(tokens, bptt=3, batch_size=4, epochs=1, learning_rate=0.1)
    trained = parameters(lm)
    chunks = list(batching.stream_chunks(batching.stream_columns(tokens, 4, 3), 3))

    # The first chunk starts from the learnable states: the same update as a plain training step
    # (but for the learnable initial states, which a stream step takes as inputs instead).
    restore(lm, start)
    lm.train_step()(*chunks[0], np.ones((3, 4)), 0.1)
    first = parameters(lm)

    # Each later chunk starts from the final states of the one before (computed before its update);
    # starting every chunk from the initial states instead trains something else.
    step = lm.stream_step()
    for carried in (True, False):
        restore(lm, start)
        states = [s for layer in lm.initial_states(4) for s in layer]
        for i, (X, Y) in enumerate(chunks):
            _, *final = step(X, Y, np.ones(X.shape), 0.1, *states)
            states = final if carried else states
            if i == 0 and carried:
                for name, value in first.items():
                    if not name.endswith(("h0", "c0")):
                        np.testing.assert_allclose(lm.params[name].get_value(), value, rtol=1e-10)
        if carried:
            for name, value in trained.items():
                np.testing.assert_allclose(lm.params[name].get_value(), value, rtol=1e-10)
        else:
            assert not np.allclose(lm.params["layer0.Whr"].get_value(), trained["layer0.Whr"])


def test_it_learns_the_streams_structure_and_reports_validation_perplexity(lm):
    history = lm.fit_stream(stream(800), bptt=8, batch_size=5, epochs=4, learning_rate=0.03,
                            validation=stream(200, seed=1))
    perplexities = [epoch["validation_perplexity"] for epoch in history]
    assert perplexities[-1] < perplexities[0] and perplexities[-1] < 3.0  # 7 tokens, mostly predictable
    assert history[-1]["loss"] < history[0]["loss"]


@pytest.mark.parametrize(
    "tokens, kwargs, error, message",
    [
        (stream(20), {"bptt": 0}, ValueError, "bptt must be positive, got 0"),
        (stream(20), {"batch_size": 5, "bptt": 4}, ValueError,
         r"a stream of 20 tokens is too short for batch_size 5 and bptt 4: it needs at least "
         r"batch_size \* \(bptt \+ 1\) = 25"),
        (np.zeros((4, 5), dtype=int), {"batch_size": 2, "bptt": 1}, ValueError, "tokens must be a one-dimensional"),
        ([1, 2, V, 3], {"batch_size": 1, "bptt": 1}, ValueError, r"tokens holds token index 7, outside"),
        (stream(20), {"batch_size": 2, "bptt": 2, "validation": [1, 2]}, ValueError,
         "validation: a stream of 2 tokens is too short"),
    ],
)
def test_bad_streams_are_named(lm, tokens, kwargs, error, message):
    with pytest.raises(error, match=message):
        lm.fit_stream(tokens, **kwargs)


class Crash(Exception):
    """A process dying in the middle of a run (its checkpoints stay on disk)."""


def test_a_stream_run_resumed_after_a_crash_ends_bit_for_bit_as_one_never_stopped(lm, tmp_path):
    tokens, held_out = stream(300), stream(120, seed=1)  # 15 chunks of 5 steps in 4 columns per epoch
    start = parameters(lm)
    options = dict(bptt=5, batch_size=4, epochs=2, learning_rate=0.05, validation=held_out, checkpoint_every=4,
                   verbose=False, plot_loss=False)
    whole = run.train_stream(lm, tokens, tmp_path / "whole", **options)
    expected = parameters(lm)

    def crash(trainer, loss):
        if trainer.step == 18:
            raise Crash

    restore(lm, start)
    with pytest.raises(Crash):
        run.train_stream(lm, tokens, tmp_path / "cut", callback=crash, **options)
    checkpoint = run.latest_checkpoint(tmp_path / "cut")
    # Step 16 is the first chunk of the second epoch: the states it carries on are in the checkpoint.
    assert checkpoint.training["step"] == 16 and checkpoint.training["position"] == 1
    carried = sorted(k for k in checkpoint.arrays if k.startswith("stream/"))
    assert carried == ["stream/0", "stream/1", "stream/2"]  # the GRU's h, the LSTM's h and c
    assert checkpoint.arrays["stream/0"].shape == (4, 4) and np.any(checkpoint.arrays["stream/0"])
    restore(lm, start)  # the resumed run must take everything from the checkpoint
    resumed = run.train_stream(lm, tokens, tmp_path / "cut", resume=True, **options)
    for name, value in expected.items():
        np.testing.assert_array_equal(lm.params[name].get_value(), value, err_msg=name)
    assert resumed.validation_losses == whole.validation_losses[1:]

    restore(lm, start)  # fit_stream runs the same loop
    history = lm.fit_stream(tokens, bptt=5, batch_size=4, epochs=2, learning_rate=0.05, validation=held_out)
    for name, value in expected.items():
        np.testing.assert_array_equal(lm.params[name].get_value(), value, err_msg=name)
    assert [epoch["loss"] for epoch in history] == whole.train_losses
    assert [epoch["validation_perplexity"] for epoch in history] == [np.exp(v) for v in whole.validation_losses]


def test_a_stream_run_refuses_to_resume_on_another_stream_or_chunk_length(lm, tmp_path):
    tokens = stream(120)
    run.train_stream(lm, tokens, tmp_path / "run", bptt=5, batch_size=4, verbose=False, plot_loss=False)
    with pytest.raises(run.TrainingError, match="bptt: 5 then, 6 now"):
        run.train_stream(lm, tokens, tmp_path / "run", bptt=6, batch_size=4, resume=True, epochs=2, verbose=False)
    with pytest.raises(run.TrainingError, match="data"):
        run.train_stream(lm, stream(120, seed=3), tmp_path / "run", bptt=5, batch_size=4, resume=True, epochs=2,
                         verbose=False)
