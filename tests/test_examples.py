"""The example scripts: each runs in --quick mode and what it reports makes sense.

Every script is run as a newcomer runs it (a subprocess, the repository on
PYTHONPATH), mostly on the user's own data so that the --data paths are
exercised (the docs test runs the default-data commands of docs/examples.md).
The checks read the script's results.json and figures, not just its exit code.
Besides, min-char-rnn built from aerann's blocks must give the same losses as
a NumPy min-char-rnn from the same initial parameters.
"""

import csv
import importlib.util
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import aesara
import numpy as np
import pytest

from aerann import cli
from aerann.data import corpora
from aerann.data.text import UNKNOWN_TOKEN

import documented_commands

pytestmark = pytest.mark.slow  # the example scripts, each a whole program

REPO = Path(__file__).resolve().parent.parent
EXAMPLES = REPO / "examples"
PNG = b"\x89PNG\r\n\x1a\n"


def run_example(name, out, *args, timeout=600):
    """Run examples/<name>.py --quick --out OUT ARGS; returns (stdout, results.json as a dict)."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(p for p in (str(REPO), env.get("PYTHONPATH")) if p)
    proc = subprocess.run(
        [sys.executable, str(EXAMPLES / f"{name}.py"), "--quick", "--out", str(out), *map(str, args)],
        capture_output=True, text=True, timeout=timeout, env=env, cwd=REPO,
    )
    assert proc.returncode == 0, f"{name} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    return proc.stdout, json.loads((out / "results.json").read_text(encoding="utf-8"))


def run_documented(name, out):
    """Run the command docs/examples.md shows for ``name`` (tests/documented_commands.py), into ``out``."""
    command = documented_commands.EXAMPLES[name].split()
    assert command[:3] == ["python", f"examples/{name}.py", "--quick"]
    return run_example(name, out, *command[3:])


def assert_png(path):
    assert path.is_file(), f"{path} was not written"
    assert path.read_bytes()[:8] == PNG and path.stat().st_size > 5000, f"{path} is not a plotted PNG"


def example_module(name):
    """Import examples/<name>.py as a module (its folder on sys.path for _common)."""
    if str(EXAMPLES) not in sys.path:
        sys.path.insert(0, str(EXAMPLES))
    spec = importlib.util.spec_from_file_location(f"example_{name}", EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def pydoc_lines(count, max_words=20):
    """``count`` short sentences of the embedded corpus as plain text lines."""
    sentences = [s[1:-1] for s in corpora.pydoc_sentences() if 4 <= len(s) - 2 <= max_words]
    return [" ".join(s) for s in sentences[:count]]


def test_rnnlm_reads_a_comments_csv_and_generates_from_a_tutorial_parameter_file(tmp_path):
    data = tmp_path / "comments.csv"
    with open(data, "w", newline="", encoding="utf-8") as stream:
        writer = csv.writer(stream)
        writer.writerow(["id", "body"])
        paragraphs = corpora.pydoc_text().split("\n\n")[:400]
        writer.writerows([i, p] for i, p in enumerate(paragraphs))
    # A parameter file in the tutorial's format (U, V, W) for the quick vocabulary of 200 words.
    rng = np.random.default_rng(0)
    hidden, words = 12, 200
    params = tmp_path / "trained-model-theano.npz"
    np.savez(params, U=rng.uniform(-0.1, 0.1, (hidden, words)).astype(np.float32),
             V=rng.uniform(-0.3, 0.3, (words, hidden)).astype(np.float32),
             W=rng.uniform(-0.3, 0.3, (hidden, hidden)).astype(np.float32))

    stdout, results = run_example("rnnlm", tmp_path / "out", "--data", data, "--params", params)

    for line in ("Parsed", "unique words tokens", "Using vocabulary size 200.", "least frequent word",
                 "Example sentence after Pre-processing", "Expected Loss for random predictions", "RNNNumpy",
                 "RNNTheano", "Loss after num_examples_seen=0", f"Loaded model parameters from {params}"):
        assert line in stdout
    assert results["vocabulary_size"] == 200
    assert results["unique_tokens"] >= 200 and results["least_frequent"][1] >= 1
    assert results["expected_random_loss"] == pytest.approx(math.log(200))
    assert abs(results["initial_loss"] - math.log(200)) < 0.05
    assert results["gradient_check"] is True
    assert results["sgd_step_ms"]["numpy"] > 0 and results["sgd_step_ms"]["theano"] > 0
    losses = results["epoch_losses"]
    assert len(losses) == 5 and all(math.isfinite(x) for x in losses)
    assert losses[-1] < losses[0] - 0.2
    assert len(results["generated"]) == 10 and results["generated_ok"]
    for sentence in results["generated"]:
        assert len(sentence.split()) >= 7 and UNKNOWN_TOKEN not in sentence


def test_parity_recurrent_net_is_perfect_and_feed_forward_needs_more_units(tmp_path):
    stdout, results = run_documented("parity", tmp_path / "out")
    assert results["rnn_hidden"] == 4 and results["bits"] == 6 and results["sequences"] == 64
    assert results["rnn_accuracy"] == 1.0
    mlp = {int(k): v for k, v in results["mlp_accuracy"].items()}
    assert all(0.0 <= v <= 1.0 for v in mlp.values())
    assert max(mlp.values()) == 1.0 and mlp[min(mlp)] < 1.0  # the smallest feed-forward net fails
    assert results["mlp_hidden_needed"] > 2
    assert "accuracy 1.0000 on every step" in stdout
    assert_png(tmp_path / "out" / "parity.png")


@pytest.mark.skipif(aesara.config.floatX != "float64", reason="the equivalence is checked in float64")
def test_char_rnn_on_aerann_matches_numpy_min_char_rnn():
    char_rnn = example_module("char_rnn")
    text = "the quick brown fox jumps over the lazy dog; " * 4 + "pack my box with five dozen liquor jugs."
    chars = sorted(set(text))
    data = np.array([chars.index(c) for c in text], dtype=np.int32)
    V, H, iterations = len(chars), 10, 12  # 12 chunks of 25 walk past the end: hprev is reset once
    init = char_rnn.initial_parameters(V, H, seed=3)
    ours = char_rnn.CharRNN(V, H, learning_rate=0.1, clip=5.0, init=init)
    reference = char_rnn.NumpyCharRNN(V, H, learning_rate=0.1, clip=5.0, init=init)
    ours_losses = char_rnn.run(ours, data, H, 25, iterations)
    reference_losses = char_rnn.run(reference, data, H, 25, iterations)
    assert ours_losses[0] == pytest.approx(-math.log(1 / V) * 25, rel=1e-3)  # tiny weights: uniform predictions
    np.testing.assert_allclose(ours_losses, reference_losses, rtol=0, atol=1e-8)
    for name, value in ours.parameters().items():
        np.testing.assert_allclose(value, reference.p[name], rtol=0, atol=1e-8, err_msg=name)
    # Clipping matters here: with a large learning rate some raw gradients exceed 5.
    _, grads, _ = reference.loss_and_gradients(data[:25], data[1:26], np.zeros(H))
    assert all(np.abs(g).max() <= 5.0 for g in grads.values())
    # The saved LanguageModel is the same network: the same next-character distributions, step after step.
    model, h, states = ours.as_language_model(), np.zeros(H), None
    for ix in data[:30]:
        h, p = ours._next(int(ix), h)
        probabilities, states = model.step([int(ix)], states)
        np.testing.assert_allclose(probabilities[0], p, rtol=1e-10)


def test_char_rnn_trains_on_a_text_file_and_samples(tmp_path, capsys):
    data = tmp_path / "input.txt"
    data.write_text(corpora.pydoc_text()[:20000], encoding="utf-8")
    stdout, results = run_example("char_rnn", tmp_path / "out", "--data", data)
    V = results["vocab_size"]
    assert results["check_max_difference"] < 1e-8
    assert results["initial_smooth_loss"] == pytest.approx(-math.log(1.0 / V) * 25)
    curve = [loss for _, loss in results["smooth_loss"]]
    assert all(math.isfinite(x) for x in curve) and all(b < a for a, b in zip(curve, curve[1:]))
    assert len(results["samples"]) == 3 and all(len(s) == 200 for s in results["samples"])
    assert "iter 300, loss:" in stdout
    assert_png(tmp_path / "out" / "char_rnn_loss.png")
    assert (tmp_path / "out" / "samples.txt").is_file()
    # The command line samples the saved model, which lists its characters.
    model = str(tmp_path / "out" / "char_rnn.npz")
    assert cli.main(["generate", "--model", model, "--prime", "The ", "--length", "40", "--count", "2",
                     "--seed", "1", "--temperature", "0.8"]) == 0
    printed = capsys.readouterr().out
    assert printed.startswith("The ") and printed.count("The ") >= 2 and len(printed) >= 2 * (4 + 40 + 1)
    assert cli.main(["generate", "--model", model, "--prime", "\u2603"]) == 1
    assert "the prime holds characters the model does not know: '\u2603'" in capsys.readouterr().err


def test_vanishing_gradients_reach_and_clipping(tmp_path):
    stdout, results = run_documented("vanishing_gradients", tmp_path / "out")
    reach = {k: np.array(v) for k, v in results["reach"].items()}
    T = results["steps"]
    for curve in reach.values():
        assert curve.shape == (T,) and np.all(np.isfinite(curve)) and np.all(curve > 0)
    last = {k: v[-1] / v[0] for k, v in reach.items()}
    # Vanishing below spectral radius 1, growing above it, and a remembering GRU keeps more.
    assert last["elman, radius 0.5"] < last["elman, radius 1"] < last["elman, radius 1.5"] < last["elman, radius 3"]
    assert last["elman, radius 0.5"] < 1e-3 and last["elman, radius 3"] > 0.5
    assert last["gru, bz = -2"] > 10 * last["gru"]
    runs = results["clipping"]
    assert set(runs) == {"none", "clip_by_norm", "grad_clip"}
    for run in runs.values():
        assert all(math.isfinite(x) for x in run["loss"]) and len(run["loss"]) == 60
    assert max(runs["clip_by_norm"]["applied_norm"]) <= 1.0 + 1e-9
    assert_png(tmp_path / "out" / "gradient_reach.png")
    assert_png(tmp_path / "out" / "clipping.png")


def test_wiki_lm_stacked_units_analogies_and_embedding_plot(tmp_path):
    data = tmp_path / "text.txt"
    data.write_text("\n".join(pydoc_lines(600)), encoding="utf-8")
    stdout, results = run_example("wiki_lm", tmp_path / "out", "--data", data, "--unit", "elman",
                                  "--analogy", "the,a,is")
    history = results["history"]
    V = results["vocabulary_size"]
    assert V == 300 and results["layers"] == 2
    assert abs(history["validation"][0] - math.log(V)) < 0.05
    assert history["validation"][-1] < history["validation"][0] - 0.5
    assert all(math.isfinite(x) for x in history["train"])
    answers = {(a["a"], a["b"], a["c"]): a for a in results["analogies"]}
    assert ("the", "a", "is") in answers
    assert len(answers[("the", "a", "is")]["euclidean"]) == 3 and len(answers[("the", "a", "is")]["cosine"]) == 3
    assert "Euclidean" in stdout and "cosine" in stdout
    assert_png(tmp_path / "out" / "embeddings_pca.png")
    assert_png(tmp_path / "out" / "wiki_lm_loss.png")
    import aerann

    model = aerann.LanguageModel.load(tmp_path / "out" / "wiki_lm.npz")
    assert [spec.unit for spec in model.layers] == ["elman", "elman"]


def test_poetry_poems_and_author_classifier_on_user_files(tmp_path):
    poems = tmp_path / "poems.txt"
    poems.write_text("\n".join(pydoc_lines(300, max_words=12)), encoding="utf-8")
    author_a, author_b = tmp_path / "grammar.txt", tmp_path / "pydoc.txt"
    author_a.write_text("\n".join(" ".join(s[1:-1]) for s in corpora.agreement_sentences(200)), encoding="utf-8")
    author_b.write_text("\n".join(pydoc_lines(200)), encoding="utf-8")
    stdout, results = run_example("poetry", tmp_path / "out", "--poems", poems,
                                  "--author-a", author_a, "--author-b", author_b)
    for unit in ("elman", "rated"):
        losses = results[unit]["losses"]
        assert len(losses) == 2 and losses[1] < losses[0]
        for verses in results[unit]["poems"]:
            assert len(verses) == 4
            assert all(v.strip() and UNKNOWN_TOKEN not in v for v in verses)
    classifier = results["classifier"]
    assert classifier["authors"] == ["grammar", "pydoc"] and classifier["input"] == "words"
    assert classifier["validation_lines"] == 60 and classifier["train_lines"] == 240
    assert classifier["validation_accuracy"] > 0.6  # chance is 0.5; two quick epochs of 8 units
    assert "part-of-speech" in stdout
    assert_png(tmp_path / "out" / "poetry.png")
