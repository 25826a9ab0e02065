"""The aerann command: every subcommand works, explains itself, and fails in one line with the right exit code."""

import errno
import gc
import json
import re
import subprocess
import sys
import types

import numpy as np
import pytest

import aerann
from aerann.cli import build_parser, main
from aerann.data import files
from aerann.training import run

TINY = ["--corpus", "agreement", "--sentences", "40", "--vocab", "20", "--unit", "elman", "--hidden", "8",
        "--embed", "4", "--batch-size", "4", "--lr", "0.01", "--validation", "0.25", "--log-every", "2",
        "--no-progress"]


@pytest.mark.slow
def test_demo_then_generate(tmp_path, capsys):
    out = tmp_path / "demo"
    code = main(["demo", "--out", str(out), "--vocab", "300", "--hidden", "6", "--sentences", "60", "--epochs", "2"])
    printed = capsys.readouterr().out
    assert code == 0
    for expected in (
        "Parsed", "Using vocabulary size 300.", "Expected loss for random predictions: 5.70",
        "Actual loss:", "RNNNumpy", "Loss after num_examples_seen=0 epoch=0", "epoch=2",
    ):
        assert expected in printed
    assert (out / "rnn-theano.npz").is_file() and (out / "vocabulary.json").is_file()

    code = main(["generate", "--model", str(out / "rnn-theano.npz"), "--count", "3", "--min-length", "2", "--seed", "1"])
    lines = capsys.readouterr().out.strip().splitlines()
    assert code == 0
    sentences = lines[-3:]
    assert all(len(s.split()) >= 2 and "UNKNOWN_TOKEN" not in s for s in sentences)


@pytest.mark.slow
def test_train_then_resume_longer_equals_one_long_run_then_evaluate_generate_plot(tmp_path, capsys):
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main(["train", *TINY, "--epochs", "2", "--out", str(whole), "--progress"]) == 0
    printed, progress = capsys.readouterr()
    assert "training on 30 sentences" in printed and "validating on 10" in printed
    assert "compiled the training step and the loss in" in printed
    assert "epoch 2/2: training loss" in printed and ", validation loss" in printed
    assert "epoch 1/2" in progress and "loss=" in progress and "tok_s=" in progress  # the progress bar
    for name in ("run.json", "metrics.jsonl", "model.npz", "vocabulary.json", "loss.png"):
        assert (whole / name).is_file(), name
    assert len(run.checkpoints(whole)) >= 1

    assert main(["train", *TINY, "--epochs", "1", "--out", str(split)]) == 0
    assert main(["train", "--out", str(split), "--resume", "--epochs", "2", "--no-progress"]) == 0
    assert "resuming from" in capsys.readouterr().out
    a, _ = files.load_arrays(whole / "model.npz")
    b, _ = files.load_arrays(split / "model.npz")
    assert a.keys() == b.keys()
    assert {array.dtype for array in a.values()} == {np.dtype("float32")}  # the command's default
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)

    assert main(["evaluate", "--model", str(whole), "--corpus", "agreement"]) == 0
    line = capsys.readouterr().out.strip().splitlines()[-1]
    assert line.startswith("2000 sentences") and "nats per token, perplexity" in line

    assert main(["generate", "--model", str(whole / "model.npz"), "--count", "2", "--min-length", "1", "--seed", "3"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.split() for line in lines)
    assert main(["generate", "--model", str(whole / "model.npz"), "--count", "2", "--seed", "3", "--temperature",
                 "0.7", "--top-k", "5", "--top-p", "0.9", "--prime", "The birds"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("the birds") for line in lines)
    assert main(["generate", "--model", str(whole), "--beam", "3", "--count", "2", "--prime", "the zebra"]) == 0
    out, err = capsys.readouterr()
    lines = out.strip().splitlines()
    assert len(lines) == 2 and all(float(line.split()[0]) < 0 and line.split()[1:3] == ["the", "UNKNOWN_TOKEN"]
                                   for line in lines)
    assert "note: the prime's words 'zebra' are not in the vocabulary" in err

    assert main(["plot", str(whole), "--output", str(tmp_path / "curve.png")]) == 0
    assert (tmp_path / "curve.png").read_bytes()[:4] == b"\x89PNG"

    # The model file carries its vocabulary: it samples without vocabulary.json beside it.
    vocabulary = json.loads((whole / "vocabulary.json").read_text())
    assert files.load_arrays(whole / "model.npz")[1]["vocabulary"] == vocabulary["index_to_word"]
    (whole / "vocabulary.json").unlink()
    assert main(["generate", "--model", str(whole / "model.npz"), "--count", "1", "--seed", "3"]) == 0



@pytest.mark.slow
def test_stream_training_resumes_exactly_keeps_the_best_model_and_generates(tmp_path, capsys):
    stream = [*TINY, "--stream", "--bptt", "5", "--optimizer", "adam", "--schedule", "plateau", "--dropout", "0.2",
              "--recurrent-dropout", "0.1", "--float64"]
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main(["train", *stream, "--epochs", "2", "--out", str(whole)]) == 0
    printed = capsys.readouterr().out
    assert "adam lr 0.01, a stream in 4 columns of chunks of 5 steps" in printed
    assert "epoch 2/2: training loss" in printed and "(perplexity" in printed
    assert (whole / "best.npz").is_file() and (whole / "model.npz").is_file()
    assert main(["train", *stream, "--epochs", "1", "--out", str(split)]) == 0
    assert main(["train", "--out", str(split), "--resume", "--epochs", "2"]) == 0
    a, _ = files.load_arrays(whole / "model.npz")
    b, _ = files.load_arrays(split / "model.npz")
    for name in a:
        np.testing.assert_array_equal(a[name], b[name], err_msg=name)
    assert {array.dtype for array in a.values()} == {np.dtype("float64")}
    config = files.load_arrays(whole / "model.npz")[1]["config"]
    assert (config["dropout"], config["recurrent_dropout"]) == (0.2, 0.1)
    assert main(["generate", "--model", str(whole / "best.npz"), "--count", "2", "--seed", "3"]) == 0


def test_train_and_evaluate_a_classifier_from_a_labelled_csv(tmp_path, capsys):
    from aerann.data.corpora import agreement_sentences

    rows = ["id,body,label"]
    for i, sentence in enumerate(agreement_sentences(40, seed=1)):
        words = sentence[1:-1]
        rows.append(f"{i},{' '.join(words)},{'plural' if words[1] in ('cats', 'dogs', 'children') else 'singular'}")
    data = tmp_path / "labelled.csv"
    data.write_text("\n".join(rows) + "\n")
    out = tmp_path / "run"
    assert main(["train", "--task", "classify", "--data", str(data), "--vocab", "20", "--unit", "elman",
                 "--hidden", "8", "--embed", "4", "--batch-size", "4", "--epochs", "2", "--lr", "0.02",
                 "--validation", "0", "--out", str(out), "--no-progress"]) == 0
    assert "training on 40 documents" in capsys.readouterr().out
    assert json.loads((out / "labels.json").read_text()) == ["plural", "singular"]
    assert main(["evaluate", "--model", str(out), "--data", str(data)]) == 0
    assert re.match(r"40 documents: loss \d\.\d+ nats per document, accuracy \d\.\d+", capsys.readouterr().out)
    assert main(["generate", "--model", str(out)]) == 1
    assert "holds a SequenceClassifier, not a language model" in capsys.readouterr().err


def test_a_resumed_run_keeps_its_settings_and_a_run_folder_is_not_reused(tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    files.write_json_atomic(out / run.RUN_FILE, {"info": {"arguments": {"hidden": 8}}})
    assert main(["train", "--out", str(out), "--resume", "--hidden", "9"]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aerann train: error: --hidden 9 differs from the run being resumed (8)")
    assert err.count("\n") == 1
    assert main(["train", "--out", str(out), "--resume", "--float64"]) == 1
    assert "--float64 differs from the run being resumed (--float32)" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--corpus", "agreement"]) == 1
    assert "already holds a run: continue it with --resume" in capsys.readouterr().err
    assert main(["train", "--out", str(tmp_path / "none"), "--resume"]) == 1
    assert "there is no run to resume" in capsys.readouterr().err


def test_a_full_disk_during_a_checkpoint_is_one_line_and_leaves_no_half_files(tmp_path, capsys, monkeypatch):
    real_write = np.lib.format.write_array

    def fill_the_disk(stream, array, **kwargs):
        real_write(stream, array, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    monkeypatch.setattr(np.lib.format, "write_array", fill_the_disk)
    assert main(["train", *TINY, "--epochs", "1", "--out", str(tmp_path / "run")]) == 1
    gc.collect()
    err = capsys.readouterr().err
    assert err == "aerann train: error: [Errno 28] No space left on device\n"
    assert unraisable == []  # no "Exception ignored in ZipFile.__del__"
    assert not list((tmp_path / "run").rglob(".*.tmp")) and not run.checkpoints(tmp_path / "run")


def test_ctrl_c_during_train_is_one_line_naming_the_checkpoint(tmp_path, capsys, monkeypatch):
    def interrupted(*args, **kwargs):
        raise run.Interrupted(tmp_path / "checkpoints" / "checkpoint-00000007.npz", 7)

    monkeypatch.setattr(run, "train", interrupted)
    assert main(["train", *TINY, "--out", str(tmp_path)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aerann train: error: interrupted at step 7; saved ") and err.count("\n") == 1
    assert f"Continue with: aerann train --out {tmp_path} --resume" in err


def test_bench_runs_the_benchmark_main_or_says_it_is_missing(monkeypatch, capsys):
    seen = []
    fake = types.ModuleType("aerann.cli.bench")
    fake.main = lambda argv=None: seen.append(argv) or 0
    monkeypatch.setitem(sys.modules, "aerann.cli.bench", fake)
    monkeypatch.setattr(aerann.cli, "bench", fake, raising=False)
    assert main(["bench", "--quick"]) == 0 and seen == [["--quick"]]
    monkeypatch.setitem(sys.modules, "aerann.cli.bench", None)
    monkeypatch.delattr(aerann.cli, "bench")
    assert main(["bench"]) == 1
    assert "the benchmark is not available" in capsys.readouterr().err


def test_every_subcommand_has_a_description_and_an_example(capsys):
    commands = build_parser()._subparsers._group_actions[0].choices
    assert {"train", "evaluate", "generate", "plot", "units", "bench", "demo"} <= set(commands)
    for name in commands:
        assert main([name, "--help"]) == 0
        text = capsys.readouterr().out
        assert f"usage: aerann {name}" in text and "example:\n  aerann " + name in text, name


def test_errors_are_one_line_with_exit_code_1(tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path / "missing.npz")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("aerann generate: error: no model file") and error.count("\n") == 1


@pytest.mark.parametrize("argv", [["demo", "--epochs", "many"], ["train", "--optimizer", "adamw"], ["nope"], []])
def test_usage_errors_exit_with_2(argv, capsys):
    assert main(argv) == 2
    assert "usage: aerann" in capsys.readouterr().err


def test_the_installed_command_exits_with_2_on_usage_errors():
    result = subprocess.run([sys.executable, "-m", "aerann.cli", "demo", "--epochs", "many"], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid int value" in result.stderr


def test_train_on_the_jax_backend_in_float32(tmp_path):
    pytest.importorskip("jax")
    out = tmp_path / "run"
    command = [sys.executable, "-m", "aerann.cli", "train", "--corpus", "agreement", "--sentences", "40", "--vocab", "20",
               "--unit", "elman", "--hidden", "8", "--embed", "4", "--batch-size", "4", "--epochs", "1",
               "--backend", "jax", "--float32", "--out", str(out), "--no-progress", "--no-plot"]
    result = subprocess.run(command, capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr
    assert re.search(r"epoch 1/1: training loss \d\.\d+", result.stdout)
    arrays, metadata = files.load_arrays(out / "model.npz")
    assert {array.dtype for array in arrays.values()} == {np.dtype("float32")}
    assert len(metadata["vocabulary"]) == 20
