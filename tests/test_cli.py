"""The aerann command: the main job trains, saves and generates; errors are one line."""

import subprocess
import sys

from aerann.cli import main


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


def test_errors_are_one_line_with_exit_code_1(tmp_path, capsys):
    assert main(["generate", "--model", str(tmp_path / "missing.npz")]) == 1
    error = capsys.readouterr().err
    assert error.startswith("aerann generate: error: no model file") and error.count("\n") == 1


def test_usage_errors_exit_with_2():
    result = subprocess.run([sys.executable, "-m", "aerann.cli", "demo", "--epochs", "many"], capture_output=True, text=True)
    assert result.returncode == 2 and "invalid int value" in result.stderr
