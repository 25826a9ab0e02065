"""Bad input, fed to the command and to the API: one clear message each, no traceback, no half-written output.

Every row of CASES names a kind of bad input, how the command and the API
receive it, and the message each must give (a regular expression).  The
command must exit with 1 (0 where the input is merely unusual and a note says
so), print one line for the error on stderr with no traceback, and leave no
run folder behind; the API must raise the expected exception with that
message (or succeed, for the unusual-but-valid rows).
"""

import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pytest

import aerann
from aerann.cli import main
from aerann.data import files, text
from aerann.models import LanguageModel
from aerann.tutorial.generate import beam_search, generate_sentence
from aerann.training import run

V = 10  # vocabulary of the API model


def tiny_model():
    return LanguageModel(V, 4, layers=[("elman", 4)], seed=0)


def saved_model(tmp: Path) -> Path:
    """A real model file with a vocabulary beside it (no compilation needed to save)."""
    sentences = text.tokenize("The cat sat. The dog ran. A cat ran.")
    vocab = text.Vocabulary.build(sentences, V)
    vocab.save(tmp / "vocabulary.json")
    return LanguageModel(len(vocab), 4, layers=[("elman", 4)]).save(tmp / "model.npz")


def truncated_model(tmp: Path) -> Path:
    path = saved_model(tmp)
    path.write_bytes(path.read_bytes()[: path.stat().st_size // 2])
    return path


def model_needing_a_plugin(tmp: Path) -> Path:
    path = saved_model(tmp)
    arrays, metadata = files.load_arrays(path)
    metadata["config"]["layers"][0][0] = "mgu"
    metadata["units"][0].update(name="mgu", source="plugin 'mgu' (aerann_mgu) from aerann-mgu 0.1.0")
    metadata.pop("format")
    return files.save_arrays(path, arrays, metadata)


def malformed_checkpoint(tmp: Path) -> Path:
    training = {"step": "7", "epoch": 0, "position": 0, "learning_rate": 0.1, "rng_state": {}, "settings": {}}
    metadata = {"kind": "aerann-checkpoint", "checkpoint_version": 1, "training": training}
    return files.save_arrays(tmp / "checkpoint-00000007.npz", {"param/embedding": np.zeros((3, 2))}, metadata)


def ten_megabyte_line(tmp: Path) -> Path:
    words = np.array(["the", "cat", "sat", "on", "a", "mat", "dog"])
    line = " ".join(words[np.random.default_rng(0).integers(len(words), size=2_600_000)])[:10_000_000]
    path = tmp / "one-line.txt"
    path.write_text(line)
    return path


def write(name, content):
    def make(tmp: Path) -> Path:
        path = tmp / name
        path.write_bytes(content if isinstance(content, bytes) else content.encode())
        return path

    return make


@dataclass
class Case:
    name: str
    make: object = None  # tmp -> Path of the input file ({input} in argv)
    argv: list = None  # the command, or None where it cannot receive this input
    cli: str = ""  # regex the command's stderr must match
    api: object = None  # (tmp, path) -> anything; raises for bad input
    error: type = None  # the exception the API raises (None: it succeeds)
    message: str = ""  # regex its message must match
    code: int = 1
    extra: dict = field(default_factory=dict)
    slow: bool = False  # marked slow: left out of the quick subset


TRAIN = ["train", "--data", "{input}", "--out", "{out}", "--unit", "elman", "--hidden", "4", "--embed", "4",
         "--no-progress", "--no-plot"]

CASES = [
    Case("empty file", write("empty.txt", b""), TRAIN, r"empty\.txt is empty",
         lambda tmp, p: text.read_text(p), ValueError, r"empty\.txt is empty"),
    Case("blank file", write("blank.csv", b"  \n\n \t\n"), TRAIN, r"blank\.csv is empty",
         lambda tmp, p: text.read_comments_csv(p), ValueError, r"blank\.csv is empty"),
    Case("binary file", write("image.txt", bytes(range(256)) * 4), TRAIN, r"image\.txt is a binary file, not UTF-8",
         lambda tmp, p: text.read_text(p), ValueError, r"is a binary file"),
    Case("invalid UTF-8", write("latin1.txt", "Un café noir.".encode("latin-1")), TRAIN,
         r"latin1\.txt is not valid UTF-8 text \(bad byte at offset 6\)",
         lambda tmp, p: text.read_text(p), ValueError, r"not valid UTF-8 text \(bad byte at offset 6\)"),
    Case("a 10 MB single line", ten_megabyte_line, TRAIN,
         r"every one of its sentences is longer than --max-words 100 \(the shortest has 2600000 words.*raise --max-words",
         lambda tmp, p: len(text.read_text(p)) == 1 or pytest.fail("one sentence expected"),
         slow=True),
    Case("CSV without a body column", write("comments.csv", "id,text\n1,hello there\n"), TRAIN,
         r"comments\.csv has no 'body' column \(columns: \['id', 'text'\]\)",
         lambda tmp, p: text.read_comments_csv(p), ValueError, r"has no 'body' column"),
    Case("labelled CSV without its label column", write("labelled.csv", "body,tag\nhello there,a\n"),
         TRAIN + ["--task", "classify"],
         r"labelled\.csv has no 'label' column \(columns: \['body', 'tag'\]\)"),
    Case("labelled CSV with one label", write("labelled.csv", "body,label\nhello there,a\nbye now,a\n"),
         TRAIN + ["--task", "classify", "--validation", "0"],
         r"--task classify needs at least two labels, found \['a'\]"),
    Case("missing data file", None, ["train", "--data", "{tmp}/nowhere.txt", "--out", "{out}"],
         r"no data file at .*nowhere\.txt",
         lambda tmp, p: text.read_text(tmp / "nowhere.txt"), FileNotFoundError, r"nowhere\.txt"),
    Case("a folder as data", None, ["train", "--data", "{tmp}", "--out", "{out}"], r"is a folder, not a data file",
         lambda tmp, p: text.read_text(tmp), IsADirectoryError, r"Is a directory"),
    Case("vocabulary larger than the corpus", write("hello.txt", "Hello."),
         TRAIN + ["--vocab", "5000", "--validation", "0", "--epochs", "1"],
         r"note: --vocab 5000 is more than the 4 distinct words of .*hello\.txt: the vocabulary has 5 entries",
         lambda tmp, p: len(text.Vocabulary.build(text.read_text(p), 5000)) == 5 or pytest.fail("5 words"),
         code=0),
    Case("too few sentences to hold out", write("hello.txt", "Hello."), TRAIN + ["--validation", "0.5"],
         r"has only 1 sentence\(s\): too few to hold out 0\.5 for validation \(pass --validation 0\)"),
    Case("sequence of length 0", None, None, "",
         lambda tmp, p: run.train(tiny_model(), [[1, 2], []], [[2, 3], []], tmp / "out"),
         ValueError, r"X\[1\] is empty: a sequence needs at least one token"),
    Case("sequence of length 1", None, None, "",
         lambda tmp, p: np.isfinite(tiny_model().score([[1]], [[2]])) or pytest.fail("finite loss expected")),
    Case("negative index", None, None, "",
         lambda tmp, p: run.train(tiny_model(), [[1, -1]], [[2, 3]], tmp / "out"),
         ValueError, r"X\[0\] holds token index -1, outside the vocabulary \[0, 10\)"),
    Case("out-of-range index", None, None, "",
         lambda tmp, p: tiny_model().fit([[1, 2]], [[2, V]]),
         ValueError, r"Y\[0\] holds token index 10, outside the vocabulary \[0, 10\)"),
    Case("float indices", None, None, "",
         lambda tmp, p: run.train(tiny_model(), [[1.0, 2.5]], [[2, 3]], tmp / "out"),
         TypeError, r"X\[0\] must hold integer token indices, got float64 values"),
    Case("mismatched x and y lengths", None, None, "",
         lambda tmp, p: run.train(tiny_model(), [[1, 2, 3]], [[2, 3]], tmp / "out"),
         ValueError, r"X\[0\] and Y\[0\] must have the same length, got 3 and 2"),
    Case("mismatched x and y counts", None, None, "",
         lambda tmp, p: run.train(tiny_model(), [[1, 2], [3]], [[2, 3]], tmp / "out"),
         ValueError, r"got 2 input sequences but 1 target sequences"),
    Case("corrupt model file", write("model.npz", b"PK\x03\x04 this is not a zip archive" * 10),
         ["evaluate", "--model", "{input}", "--data", "{tmp}/model.npz"], r"model\.npz is not a readable model file",
         lambda tmp, p: LanguageModel.load(p), ValueError, r"model\.npz is not a readable model file"),
    Case("truncated model file", truncated_model, ["generate", "--model", "{input}"],
         r"model\.npz.*(is not a readable model file|not a zip file)",
         lambda tmp, p: LanguageModel.load(p), ValueError, r"model\.npz is not a readable model file"),
    Case("truncated checkpoint", truncated_model, ["evaluate", "--model", "{input}", "--corpus", "agreement"],
         r"model\.npz is not a readable model file",
         lambda tmp, p: run.load_checkpoint(p), ValueError, r"is not a readable model file"),
    Case("checkpoint with a malformed position", malformed_checkpoint,
         ["evaluate", "--model", "{input}", "--corpus", "agreement"],
         r"checkpoint-00000007\.npz is a malformed checkpoint \(bad training position\)",
         lambda tmp, p: run.load_checkpoint(p), ValueError, r"is a malformed checkpoint"),
    Case("a model whose unit is not installed", model_needing_a_plugin,
         ["evaluate", "--model", "{input}", "--corpus", "agreement"],
         r"uses the unit 'mgu' \(from plugin 'mgu' \(aerann_mgu\) from aerann-mgu 0\.1\.0\), which is not registered: "
         r"install the plugin that provides it",
         lambda tmp, p: LanguageModel.load(p), ValueError, r"install the plugin that provides it"),
    Case("unknown unit", write("hello.txt", "Hello there. Bye now."), TRAIN + ["--unit", "nope", "--validation", "0"],
         r"unknown unit 'nope': registered units are elman, gru, lstm, rated",
         lambda tmp, p: LanguageModel(V, 4, layers=[("nope", 4)]), ValueError, r"unknown unit 'nope'"),
    Case("negative learning rate", write("hello.txt", "Hello there."), TRAIN + ["--lr", "-1"],
         r"the learning rate must be positive, got -1$",
         lambda tmp, p: run.train(tiny_model(), [[1]], [[2]], tmp / "out", learning_rate=-1),
         ValueError, r"the learning rate must be positive, got -1$"),
    Case("NaN momentum", write("hello.txt", "Hello there."), TRAIN + ["--optimizer", "momentum", "--momentum", "nan"],
         r"mu \(momentum\) must be a finite number, got nan",
         lambda tmp, p: run.train(tiny_model(), [[1]], [[2]], tmp / "out", optimizer="momentum",
                                  options={"mu": float("nan")}),
         ValueError, r"mu \(momentum\) must be a finite number, got nan"),
    Case("--stream with --task classify", write("labelled.csv", "body,label\nGood day.,a\nBad day.,b\n"),
         TRAIN + ["--stream", "--task", "classify"], r"--stream trains a language model on one token stream"),
    Case("a stream shorter than one chunk per column", write("hello.txt", "Hello there."),
         TRAIN + ["--stream", "--validation", "0", "--batch-size", "2", "--bptt", "3"],
         r"tokens: a stream of 5 tokens is too short for batch_size 2 and bptt 3: it needs at least "
         r"batch_size \* \(bptt \+ 1\) = 8",
         lambda tmp, p: tiny_model().fit_stream(np.arange(7) % V, batch_size=2, bptt=3), ValueError,
         r"tokens: a stream of 7 tokens is too short for batch_size 2 and bptt 3"),
    Case("bptt below 1", write("hello.txt", "Hello there."), TRAIN + ["--stream", "--bptt", "0"],
         r"--bptt must be positive, got 0",
         lambda tmp, p: tiny_model().fit_stream(np.arange(50) % V, bptt=0), ValueError, r"bptt must be positive, got 0"),
    Case("patience without validation data", write("hello.txt", "Hello there."),
         TRAIN + ["--patience", "2", "--validation", "0"], r"patience \(early stopping\) needs validation data",
         lambda tmp, p: run.train(tiny_model(), [[1]], [[2]], tmp / "out", patience=2), ValueError,
         r"patience \(early stopping\) needs validation data"),
    Case("unknown optimizer", write("hello.txt", "Hello there."), TRAIN + ["--optimizer", "adamw"],
         r"invalid choice: 'adamw' \(choose from 'sgd', 'momentum', 'nesterov', 'adagrad', 'rmsprop', 'adam', "
         r"'adadelta'\)",
         lambda tmp, p: run.train(tiny_model(), [[1]], [[2]], tmp / "out", optimizer="adamw"), ValueError,
         r"unknown optimizer 'adamw': choose one of sgd, momentum, nesterov, adagrad, rmsprop, adam, adadelta",
         code=2),
    Case("unknown schedule", write("hello.txt", "Hello there."), TRAIN + ["--schedule", "cosine"],
         r"invalid choice: 'cosine' \(choose from 'none', 'halve-on-rise', 'plateau', 'step'\)",
         lambda tmp, p: run.train(tiny_model(), [[1]], [[2]], tmp / "out", schedule="cosine"), ValueError,
         r"unknown schedule 'cosine': choose one of none, halve-on-rise, plateau, step", code=2),
    Case("dropout of 1", write("hello.txt", "Hello there."), TRAIN + ["--dropout", "1"],
         r"dropout must be a rate in \[0, 1\), got 1.0$",
         lambda tmp, p: LanguageModel(V, 4, layers=[("gru", 4)], dropout=1), ValueError,
         r"dropout must be a rate in \[0, 1\), got 1$"),
    Case("negative recurrent dropout", write("hello.txt", "Hello there."), TRAIN + ["--recurrent-dropout", "-0.5"],
         r"recurrent_dropout must be a rate in \[0, 1\), got -0.5$",
         lambda tmp, p: LanguageModel(V, 4, layers=[("gru", 4)], recurrent_dropout=-0.5), ValueError,
         r"recurrent_dropout must be a rate in \[0, 1\), got -0.5$"),
    Case("tied embeddings of another size", write("hello.txt", "Hello there. Bye now."),
         TRAIN + ["--tie-embeddings", "--hidden", "8", "--embed", "4", "--validation", "0"],
         r"tie_embeddings needs the top layer's size \(8\) to equal embedding_dim \(4\)",
         lambda tmp, p: LanguageModel(V, 4, layers=[("gru", 8)], tie_embeddings=True), ValueError,
         r"tie_embeddings needs the top layer's size \(8\) to equal embedding_dim \(4\)"),
    Case("tied embeddings in a classifier", write("labelled.csv", "body,label\nGood day.,a\nBad day.,b\n"),
         TRAIN + ["--tie-embeddings", "--task", "classify"], r"--tie-embeddings shares a language model's embedding"),
    Case("bad layer list", write("hello.txt", "Hello there."), TRAIN + ["--layers", "gru:big"],
         r"--layers: expected a count or a list like gru:64,lstm:32, got 'gru:big'"),
    Case("a temperature of 0", saved_model, ["generate", "--model", "{input}", "--temperature", "0"],
         r"temperature must be positive, got 0",
         lambda tmp, p: generate_sentence(LanguageModel.load(p), text.Vocabulary.load(tmp / "vocabulary.json"),
                                          temperature=0), ValueError, r"temperature must be positive, got 0"),
    Case("top-k below 1", saved_model, ["generate", "--model", "{input}", "--top-k", "0"],
         r"top_k must be at least 1, got 0",
         lambda tmp, p: generate_sentence(LanguageModel.load(p), text.Vocabulary.load(tmp / "vocabulary.json"),
                                          top_k=0), ValueError, r"top_k must be at least 1, got 0"),
    Case("top-p above 1", saved_model, ["generate", "--model", "{input}", "--top-p", "1.5"],
         r"top_p must be in \(0, 1\], got 1.5",
         lambda tmp, p: generate_sentence(LanguageModel.load(p), text.Vocabulary.load(tmp / "vocabulary.json"),
                                          top_p=1.5), ValueError, r"top_p must be in \(0, 1\], got 1.5"),
    Case("a beam of width 0", saved_model, ["generate", "--model", "{input}", "--beam", "0"],
         r"beam must be at least 1, got 0",
         lambda tmp, p: beam_search(LanguageModel.load(p), text.Vocabulary.load(tmp / "vocabulary.json"),
                                    beam_width=0), ValueError, r"beam_width must be at least 1, got 0"),
    Case("vocabulary that does not fit the model", saved_model,
         ["evaluate", "--model", "{input}", "--vocab", "{tmp}/other.json", "--corpus", "agreement"],
         r"has a vocabulary of \d+ words but .*other\.json has 4",
         extra={"other.json": text.Vocabulary(["SENTENCE_START", "SENTENCE_END", "x", "UNKNOWN_TOKEN"])}),
    Case("corrupt vocabulary", saved_model,
         ["evaluate", "--model", "{input}", "--vocab", "{tmp}/other.json", "--corpus", "agreement"],
         r"other\.json is not a vocabulary file", extra={"other.json": b"{not json"}),
]


def fill(argv, tmp, path, out):
    return [a.format(tmp=tmp, input=path, out=out) for a in argv]


@pytest.mark.parametrize(
    "case",
    [pytest.param(c, id=c.name, marks=[pytest.mark.slow] if c.slow else []) for c in CASES],
)
def test_bad_input_gets_one_clear_message_and_leaves_nothing_behind(case, tmp_path, capsys):
    path = case.make(tmp_path) if case.make else None
    for name, content in case.extra.items():
        if isinstance(content, text.Vocabulary):
            content.save(tmp_path / name)
        else:
            (tmp_path / name).write_bytes(content)
    out = tmp_path / "run"
    if case.argv is not None:
        code = main(fill(case.argv, tmp_path, path, out))
        err = capsys.readouterr().err
        assert code == case.code, err
        assert "Traceback" not in err and "aesara" not in err.lower()
        assert re.search(case.cli, err), err
        if code == 2:  # a usage error, reported by the argument parser
            assert err.startswith("usage: aerann"), err
        if code:
            if code == 1:
                assert all(line.startswith("note: ") for line in err.splitlines()[:-1]), err
            assert not out.exists(), sorted(out.rglob("*"))
        else:
            assert not list(out.rglob(".*.tmp")) and (out / "model.npz").is_file()
    if case.api is not None:
        if case.error is None:
            case.api(tmp_path, path)
        else:
            with pytest.raises(case.error, match=case.message):
                case.api(tmp_path, path)
            assert not (tmp_path / "out").exists()


@pytest.fixture
def broken_plugin(tmp_path):
    """A plugin that raises on import, found through an entry point the way pip would install it."""
    (tmp_path / "boom_plugin.py").write_text("raise RuntimeError('broken on purpose')\n")
    dist_info = tmp_path / "aerann_boom-0.1.0.dist-info"
    dist_info.mkdir()
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: aerann-boom\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text("[aerann]\nboom = boom_plugin\n")
    sys.path.insert(0, str(tmp_path))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        aerann.units.reload()
    yield caught
    sys.path.remove(str(tmp_path))
    sys.modules.pop("boom_plugin", None)
    aerann.units.reload()


def test_a_plugin_that_raises_on_import_is_named_and_the_others_still_work(broken_plugin, tmp_path, capsys):
    expected = "plugin 'boom' (boom_plugin) from aerann-boom 0.1.0 failed to import: RuntimeError: broken on purpose"
    assert [str(w.message) for w in broken_plugin if issubclass(w.category, aerann.units.PluginWarning)] == [expected]
    assert aerann.units.errors() == [expected]
    assert {"elman", "gru", "lstm", "rated"} <= set(aerann.units.names())
    LanguageModel(V, 4, layers=[("gru", 4)])  # the built-in units still build

    assert main(["units"]) == 0
    printed = capsys.readouterr()
    assert "gru" in printed.out and printed.err == f"warning: {expected}\n"

    (tmp_path / "hello.txt").write_text("Hello there. Bye now.")
    out = tmp_path / "run"
    assert main(["train", "--data", str(tmp_path / "hello.txt"), "--unit", "boom", "--out", str(out)]) == 1
    err = capsys.readouterr().err
    assert err.startswith("aerann train: error: unknown unit 'boom'") and expected in err and err.count("\n") == 1
    assert not out.exists()
    with pytest.raises(ValueError, match=re.escape(expected)):
        LanguageModel(V, 4, layers=[("boom", 4)])


@pytest.mark.parametrize("argv, kwargs", [
    (["--lr", "0"], {"learning_rate": 0}),
    (["--reg", "-1"], {"reg": -1}),
    (["--clip", "-2"], {"clip": -2}),
    (["--optimizer", "nesterov", "--momentum", "1.5"], {"optimizer": "nesterov", "options": {"mu": 1.5}}),
    (["--optimizer", "adam", "--momentum", "0.5"], {"optimizer": "adam", "options": {"mu": 0.5}}),
    (["--patience", "0"], {"patience": 0}),
])
def test_fit_the_run_and_the_command_give_one_message_for_a_bad_training_option(argv, kwargs, tmp_path, capsys):
    data = tmp_path / "hello.txt"
    data.write_text("Hello there. Bye now.")
    with pytest.raises(ValueError) as from_fit:
        tiny_model().fit([[1, 2]], [[2, 3]], **kwargs)
    with pytest.raises(ValueError) as from_run:
        run.train(tiny_model(), [[1, 2]], [[2, 3]], tmp_path / "out", **kwargs)
    assert main(fill(TRAIN, tmp_path, data, tmp_path / "run") + argv) == 1
    printed = capsys.readouterr().err.splitlines()[-1]
    assert str(from_fit.value) == str(from_run.value)
    assert printed == f"aerann train: error: {from_fit.value}"
    assert not (tmp_path / "out").exists() and not (tmp_path / "run").exists()
