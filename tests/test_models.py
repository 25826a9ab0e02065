"""Models learn, keep the brief's contract, and survive a save/load round trip; bad files and input are refused."""

import errno
import gc
import itertools
import json
import sys
import zipfile
from io import BytesIO

import aesara
import aesara.tensor as at
import numpy as np
import pytest

from aerann.backend import compiler
from aerann.data import files
from aerann.models import LanguageModel, RecurrentModel, SequenceClassifier, SequenceTagger


def parity_data():
    """Every 4-bit sequence, labelled at every step with the parity of the bits so far (the book's problem)."""
    bits = np.array(list(itertools.product([0, 1], repeat=4)))
    return [b.reshape(4, 1).astype(float) for b in bits], [np.cumsum(b) % 2 for b in bits]


@pytest.fixture(scope="module")
def tagger():
    X, Y = parity_data()
    model = SequenceTagger(1, 2, layers=[("gru", 4)], seed=0)
    history = model.fit(X, Y, epochs=100, learning_rate=0.01, mu=0.9, batch_size=4)
    return model, history


def token_classes(rng, count):
    """Class 0 sequences use tokens {0, 1}, class 1 sequences tokens {2, 3}; lengths 2..6."""
    X, Y = [], []
    for i in range(count):
        label = i % 2
        X.append(rng.integers(0, 2, size=rng.integers(2, 7)) + 2 * label)
        Y.append(label)
    return X, np.array(Y)


@pytest.fixture(scope="module")
def classifier():
    X, Y = token_classes(np.random.default_rng(0), 24)
    model = SequenceClassifier(2, layers=[("elman", 4)], vocab_size=4, embedding_dim=3, seed=1)
    history = model.fit(X, Y, epochs=30, learning_rate=0.05, mu=0.5, batch_size=4, reg=1e-4)
    return model, history


def test_language_model_parameters_follow_the_brief():
    model = LanguageModel(7, 5, layers=[("gru", 4), ("lstm", 3, {"activation": "relu"})])
    shapes = {name: p.get_value().shape for name, p in model.params.items()}
    assert list(shapes)[0] == "embedding" and list(shapes)[-2:] == ["output.W", "output.b"]
    assert shapes["embedding"] == (7, 5)
    assert shapes["layer0.Wxr"] == (5, 4) and shapes["layer0.h0"] == (4,)
    assert shapes["layer1.Wci"] == (3, 3) and shapes["layer1.c0"] == (3,) and shapes["layer1.Wxi"] == (4, 3)
    assert shapes["output.W"] == (3, 7) and shapes["output.b"] == (7,)
    assert all(p.name == name for name, p in model.params.items())


def test_language_model_loss_is_the_summed_masked_cross_entropy_and_it_learns():
    model = LanguageModel(5, 3, layers=[("elman", 6)], seed=0)
    X, Y, mask = at.imatrix("X"), at.imatrix("Y"), at.matrix("mask")
    summed = compiler.function([X, Y, mask], model.symbolic_loss(X, Y, mask))
    rng = np.random.default_rng(0)
    Xv, Yv = rng.integers(5, size=(4, 2)).astype(np.int32), rng.integers(5, size=(4, 2)).astype(np.int32)
    mask_v = np.array([[1, 1], [1, 1], [1, 0], [1, 0]], dtype=float)
    probabilities = model.predict_proba([Xv[:, 0], Xv[:2, 1]])
    picked = [probabilities[0][np.arange(4), Yv[:, 0]], probabilities[1][np.arange(2), Yv[:2, 1]]]
    expected = -np.log(np.concatenate(picked)).sum()
    np.testing.assert_allclose(summed(Xv, Yv, mask_v), expected, rtol=1e-12)

    sentences = [np.array([0, 1, 2, 3, 4] * 2)[s : s + n] for s, n in [(0, 6), (1, 5), (2, 7), (3, 4)]]
    X_train, Y_train = [s[:-1] for s in sentences], [s[1:] for s in sentences]
    before = model.score(X_train, Y_train)
    history = model.fit(X_train, Y_train, epochs=15, learning_rate=0.1, mu=0.5, batch_size=2)
    assert len(history) == 15 and history[-1] < 0.5 * history[0]
    assert model.score(X_train, Y_train) < 0.5 * before
    assert np.isclose(model.perplexity(X_train, Y_train), np.exp(model.score(X_train, Y_train)))
    assert [len(p) for p in model.predict(X_train)] == [len(x) for x in X_train]


def minibatch_cases():
    """(model, X, Y) for every model class, with sequences of different lengths."""
    rng = np.random.default_rng(3)
    lengths = [1, 4, 2, 3]
    tokens = [rng.integers(0, 6, n) for n in lengths]
    features = [rng.standard_normal((n, 2)) for n in lengths]
    return {
        "language model": (
            LanguageModel(6, 3, layers=[("gru", 4)], seed=0),
            tokens,
            [rng.integers(0, 6, n) for n in lengths],
        ),
        "tagger": (SequenceTagger(2, 3, layers=[("lstm", 3)], seed=0), features, [rng.integers(0, 3, n) for n in lengths]),
        "classifier": (
            SequenceClassifier(3, layers=[("elman", 4)], vocab_size=6, embedding_dim=2, seed=0),
            tokens,
            np.array([0, 2, 1, 2]),
        ),
    }


@pytest.mark.parametrize("case", ["language model", "tagger", "classifier"])
def test_a_minibatch_gradient_is_the_sum_of_its_sequences_gradients_and_padding_columns_add_nothing(case):
    model, X, Y = minibatch_cases()[case]
    X, Y = model.check_data(X, Y)
    Xs, Ys = model._symbolic_inputs()
    mask = model._mask()
    params = list(model.params.values())
    gradients = compiler.function([Xs, Ys, mask], aesara.grad(model.symbolic_loss(Xs, Ys, mask), params))
    together = gradients(*model.batch(X, Y, list(range(len(X)))))
    widened = gradients(*model.batch(X, Y, list(range(len(X))), columns=len(X) + 3))
    alone = [gradients(*model.batch(X, Y, [i])) for i in range(len(X))]
    for name, batch_gradient, wide_gradient, *single in zip(model.params, together, widened, *alone):
        np.testing.assert_allclose(batch_gradient, np.sum(single, axis=0), rtol=1e-10, atol=1e-12, err_msg=name)
        np.testing.assert_allclose(wide_gradient, batch_gradient, rtol=1e-12, atol=1e-14, err_msg=name)


def test_tagger_learns_four_bit_parity(tagger):
    model, history = tagger
    X, Y = parity_data()
    assert history[-1] < history[0]
    assert model.score(X, Y) == 1.0
    assert all(np.array_equal(p, y) for p, y in zip(model.predict(X), Y))


def test_classifier_separates_two_token_distributions(classifier):
    model, history = classifier
    X, Y = token_classes(np.random.default_rng(5), 10)
    assert history[-1] < history[0]
    assert model.score(X, Y) == 1.0
    assert model.predict_proba(X).shape == (10, 2)


def test_classifier_reads_the_last_real_step_whatever_the_padding(classifier):
    model, _ = classifier
    short, long = np.array([2, 3]), np.array([0, 1, 0, 1, 0, 1, 0, 1, 0])
    together = model.predict_proba([short, long])
    alone = model.predict_proba([short])
    np.testing.assert_allclose(together[0], alone[0], rtol=1e-12)


def test_classifier_on_real_valued_features_builds_without_an_embedding():
    model = SequenceClassifier(3, layers=[("rated", 2)], n_in=4)
    assert "embedding" not in model.params and model.params["layer0.Wx"].get_value().shape == (4, 2)
    with pytest.raises(ValueError, match="either vocab_size"):
        SequenceClassifier(3, vocab_size=5, n_in=4)


@pytest.mark.parametrize("fixture", ["tagger", "classifier"])
def test_save_and_load_round_trip_exactly(fixture, request, tmp_path):
    model, _ = request.getfixturevalue(fixture)
    path = model.save(tmp_path / "model.npz")
    loaded = RecurrentModel.load(path)
    assert type(loaded) is type(model) and loaded.config() == model.config()
    assert list(loaded.params) == list(model.params)
    for name, p in model.params.items():
        np.testing.assert_array_equal(loaded.params[name].get_value(), p.get_value())
    _, metadata = files.load_arrays(path)
    assert metadata["class"] == type(model).__name__ and metadata["aerann_version"]
    assert metadata["units"][0]["source"].startswith("built-in")
    assert not list(tmp_path.glob(".*tmp")), "the temporary file is renamed, not left behind"


def test_a_loaded_model_predicts_like_the_original(classifier, tmp_path):
    model, _ = classifier
    X, _ = token_classes(np.random.default_rng(6), 6)
    loaded = SequenceClassifier.load(model.save(tmp_path / "classifier.npz"))
    np.testing.assert_array_equal(loaded.predict_proba(X), model.predict_proba(X))


@pytest.fixture
def saved(tmp_path):
    """A small language model's file, and its arrays and metadata to tamper with."""
    path = LanguageModel(5, 2, layers=[("elman", 3)]).save(tmp_path / "lm.npz")
    arrays, metadata = files.load_arrays(path)
    return path, arrays, metadata


def rewrite(path, arrays, metadata):
    metadata = {k: v for k, v in metadata.items() if k != "format"}
    files.save_arrays(path, arrays, metadata)
    return path


def test_corrupt_files_are_refused_with_a_clear_error(saved, tmp_path):
    path, arrays, metadata = saved
    junk = tmp_path / "junk.npz"
    junk.write_bytes(b"not a zip file at all")
    with pytest.raises(ValueError, match="not a readable model file"):
        LanguageModel.load(junk)
    truncated = tmp_path / "truncated.npz"
    truncated.write_bytes(path.read_bytes()[:200])
    with pytest.raises(ValueError, match="truncated.npz"):
        LanguageModel.load(truncated)
    plain = tmp_path / "plain.npz"
    np.savez(plain, W=np.zeros(3))
    with pytest.raises(ValueError, match="not an aerann model file"):
        LanguageModel.load(plain)
    pickled = tmp_path / "pickled.npz"
    np.savez(pickled, __metadata__=np.frombuffer(b"{}", np.uint8), evil=np.array([object()], dtype=object))
    with pytest.raises(ValueError, match="pickled.npz"):
        LanguageModel.load(pickled)
    with pytest.raises(FileNotFoundError, match="missing.npz"):
        LanguageModel.load(tmp_path / "missing.npz")


def with_header(path, name, shape, data):
    """Replace the member ``name`` of an npz by one whose header declares ``shape`` but holds ``data``."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    header = BytesIO()
    np.lib.format.write_array_header_1_0(header, {"descr": "<f8", "fortran_order": False, "shape": shape})
    members[f"{name}.npy"] = header.getvalue() + data
    with zipfile.ZipFile(path, "w") as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return path


def test_an_array_declaring_more_than_it_holds_or_than_the_model_has_is_refused_before_it_is_read(saved, monkeypatch):
    path, _, _ = saved
    with_header(path, "output.b", (10**12,), np.zeros(5).tobytes())  # 8 TB declared, 40 bytes held
    with pytest.raises(ValueError, match=r"output\.b declares a float64 array of shape \(1000000000000,\)"):
        LanguageModel.load(path)
    with_header(path, "output.b", (7,), np.zeros(7).tobytes())  # holds what it declares, not what the model has
    read = []
    monkeypatch.setattr(np.lib.npyio.NpzFile, "__getitem__",
                        lambda self, key, original=np.lib.npyio.NpzFile.__getitem__: read.append(key) or original(self, key))
    with pytest.raises(ValueError, match=r"output\.b is float64 \(7,\), expected float \(5,\)"):
        LanguageModel.load(path)
    assert read == ["__metadata__"]  # only the metadata was read before the file was refused


def test_a_full_disk_raises_its_error_once_and_leaves_the_old_file_and_nothing_else(saved, monkeypatch):
    path, arrays, metadata = saved
    before = path.read_bytes()
    real_write = np.lib.format.write_array

    def fill_the_disk(stream, array, **kwargs):
        real_write(stream, array, **kwargs)
        raise OSError(errno.ENOSPC, "No space left on device")

    unraisable = []
    monkeypatch.setattr(sys, "unraisablehook", unraisable.append)
    monkeypatch.setattr(np.lib.format, "write_array", fill_the_disk)
    with pytest.raises(OSError, match="No space left on device"):
        rewrite(path, arrays, metadata)
    gc.collect()
    assert unraisable == []
    assert path.read_bytes() == before and sorted(p.name for p in path.parent.iterdir()) == ["lm.npz"]


def test_bad_metadata_and_parameters_are_refused(saved):
    path, arrays, metadata = saved
    with pytest.raises(ValueError, match="holds a 'LanguageModel', not a SequenceTagger"):
        SequenceTagger.load(path)
    missing = dict(arrays)
    del missing["layer0.Wh"]
    with pytest.raises(ValueError, match="layer0.Wh"):
        LanguageModel.load(rewrite(path, missing, metadata))
    reshaped = {**arrays, "output.b": np.zeros(4)}
    with pytest.raises(ValueError, match=r"output.b is float64 \(4,\), expected float \(5,\)"):
        LanguageModel.load(rewrite(path, reshaped, metadata))
    integers = {**arrays, "output.b": np.zeros(5, dtype=np.int64)}
    with pytest.raises(ValueError, match="output.b is int64"):
        LanguageModel.load(rewrite(path, integers, metadata))
    broken = {**metadata, "config": {**metadata["config"], "vocab_size": "five"}}
    with pytest.raises((ValueError, TypeError), match="vocab_size"):
        LanguageModel.load(rewrite(path, arrays, broken))


def test_an_unknown_unit_names_the_plugin_that_provided_it(saved):
    path, arrays, metadata = saved
    config = json.loads(json.dumps(metadata["config"]))
    config["layers"][0][0] = "mgu"
    units = [{"name": "mgu", "source": "plugin 'mgu' (aerann_mgu) from aerann-mgu 0.1.0"}]
    expected = r"'mgu' \(from plugin 'mgu' \(aerann_mgu\) from aerann-mgu 0.1.0\).*install"
    with pytest.raises(ValueError, match=expected):
        LanguageModel.load(rewrite(path, arrays, {**metadata, "config": config, "units": units}))


@pytest.mark.parametrize(
    "build, error, message",
    [
        (lambda: LanguageModel(0, 3), ValueError, "vocab_size"),
        (lambda: LanguageModel(5, 3, layers=[("nope", 3)]), ValueError, "unknown unit 'nope'"),
        (lambda: LanguageModel(5, 3, layers=[("gru",)]), ValueError, "layer 0"),
        (lambda: LanguageModel(5, 3, layers=[("gru", 3, {"activation": "selu"})]), ValueError, "selu"),
        (lambda: LanguageModel(5, 3, layers=[("gru", 3, {"colour": "red"})]), ValueError, "layer 0 \\(gru\\)"),
        (lambda: LanguageModel(5, 3, truncate_gradient=0), ValueError, "truncate_gradient"),
        (lambda: SequenceTagger(1, 2, grad_clip=-1), ValueError, "grad_clip"),
    ],
)
def test_bad_model_arguments_are_named(build, error, message):
    with pytest.raises(error, match=message):
        build()


def test_bad_training_data_is_refused_before_anything_compiles():
    model = LanguageModel(5, 2, layers=[("elman", 2)])
    good = [np.array([0, 1, 2])]
    for X, Y, error, message in [
        ([np.array([0, 7])], [np.array([1, 2])], ValueError, "outside the vocabulary"),
        ([np.array([0.5, 1.0])], [np.array([1, 2])], TypeError, "integer"),
        (good, [np.array([1, 2])], ValueError, "same length"),
        (good, good + good, ValueError, "1 input sequences but 2"),
        ([], [], ValueError, "empty"),
    ]:
        with pytest.raises(error, match=message):
            model.fit(X, Y)
    for kwargs, message in [
        ({"learning_rate": -1.0}, "the learning rate must be positive"),
        ({"mu": 1.5}, r"mu \(momentum\) must be in \[0, 1\)"),
        ({"reg": -0.1}, "reg"),
        ({"optimizer": "adamw"}, "unknown optimizer 'adamw'"),
        ({"optimizer": "adam", "options": {"beta1": 1.0}}, r"beta1 \(adam\) must be in \[0, 1\)"),
        ({"optimizer": "rmsprop", "mu": 0.9}, "the optimizer rmsprop has no option 'mu'"),
        ({"schedule": "cosine"}, "unknown schedule 'cosine': choose one of none, halve-on-rise, plateau, step"),
        ({"patience": 0}, "patience must be positive"),
        ({"patience": 2}, "patience \\(early stopping\\) needs validation data"),
        ({"restore_best": True}, "restore_best needs validation data"),
        ({"epochs": 0}, "epochs"),
    ]:
        with pytest.raises(ValueError, match=message):
            model.fit(good, good, **kwargs)
    tagger = SequenceTagger(2, 2)
    with pytest.raises(ValueError, match=r"X\[0\] must have shape \(steps, 2\)"):
        tagger.fit([np.zeros((3, 1))], [np.zeros(3, dtype=int)])
    with pytest.raises(ValueError, match="3 steps but Y\\[0\\] has 2"):
        tagger.fit([np.zeros((3, 2))], [np.zeros(2, dtype=int)])


def test_optimizer_state_round_trips_and_is_checked(classifier):
    model, _ = classifier
    (key,) = model.optimizer_states
    state = model.optimizer_state(key)
    assert set(state) == {f"{name}_state" for name in model.params}
    assert any(np.abs(value).max() > 0 for value in state.values()), "momentum has moved"
    model.set_optimizer_state(key, {name: np.zeros_like(value) for name, value in state.items()})
    assert all(not np.any(value) for value in model.optimizer_state(key).values())
    model.set_optimizer_state(key, state)
    for name, value in model.optimizer_state(key).items():
        np.testing.assert_array_equal(value, state[name])
    with pytest.raises(ValueError, match="does not match"):
        model.set_optimizer_state(key, {})
    name = next(iter(state))
    with pytest.raises(ValueError, match=name):
        model.set_optimizer_state(key, {**state, name: np.zeros(7)})
    with pytest.raises(KeyError, match="call train_step first"):
        model.optimizer_state(("adagrad", (), 0.0, None))


def test_save_stores_extra_metadata_and_load_names_a_checkpoint(classifier, tmp_path):
    model, _ = classifier
    path = model.save(tmp_path / "model.npz", metadata={"vocabulary": ["a", "b"]})
    assert files.load_arrays(path)[1]["vocabulary"] == ["a", "b"]
    assert SequenceClassifier.load(path).config() == model.config()
    # A training checkpoint loads too: its "param/" arrays are the parameters.
    arrays, metadata = files.load_arrays(path)
    training = {"step": 0, "epoch": 0, "position": 0, "learning_rate": 0.1, "rng_state": {}, "settings": {}}
    metadata = {**metadata, "checkpoint_version": 1, "training": training}
    checkpoint = files.save_arrays(tmp_path / "checkpoint.npz",
                                {**{f"param/{k}": v for k, v in arrays.items()}, "optimizer/x": np.ones(3)},
                                {**metadata, "kind": "aerann-checkpoint"})
    loaded = SequenceClassifier.load(checkpoint)
    for name, value in arrays.items():
        np.testing.assert_array_equal(loaded.params[name].get_value(), value)
    broken = files.save_arrays(tmp_path / "broken.npz", {"param/x": np.zeros(1)}, {**metadata, "kind": "aerann-checkpoint"})
    with pytest.raises(ValueError, match="broken.npz: parameters .* do not match the model"):
        SequenceClassifier.load(broken)
