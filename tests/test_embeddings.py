"""Pretrained word vectors, frozen parameters and tied input and output embeddings.

The models here are one small Elman layer, so that each compiles in seconds;
the tied model's gradient is checked against central finite differences.
"""

import numpy as np
import pytest

from aerann import LanguageModel
from aerann.backend import compiler
from aerann.data.text import SENTENCE_END, SENTENCE_START, UNKNOWN_TOKEN, Vocabulary
from aerann.data.word_vectors import read_word_vectors

WORDS = [SENTENCE_START, SENTENCE_END, "the", "cat", "sat", UNKNOWN_TOKEN]
VOCAB = Vocabulary(WORDS)
X = [np.array([0, 2, 3, 4]), np.array([0, 2, 4])]
Y = [np.array([2, 3, 4, 1]), np.array([2, 4, 1])]


def write(tmp_path, text, name="vectors.txt"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def model(**options):
    return LanguageModel(len(WORDS), 3, layers=[("elman", 3)], **options)


@pytest.mark.parametrize("header", ["", "4 3\n"])
def test_vectors_fill_the_rows_of_known_words_and_say_how_many(tmp_path, header):
    path = write(tmp_path, header + "the 1 2 3\ncat 4 5 6\ndog 7 8 9\nmat 1 1 1\n")
    lm = model()
    before = lm.params["embedding"].get_value()
    report = lm.load_embeddings(path, VOCAB)
    after = lm.params["embedding"].get_value()
    np.testing.assert_array_equal(after[2], [1, 2, 3])
    np.testing.assert_array_equal(after[3], [4, 5, 6])
    for row in (0, 1, 4, 5):  # words the file lacks keep their values
        np.testing.assert_array_equal(after[row], before[row])
    assert (report.found, report.vocabulary, report.file_words) == (2, 6, 4)
    assert str(report) == f"2 of the 6 vocabulary words found in {path} (4 vectors)"


def test_a_word_listed_twice_keeps_its_first_vector(tmp_path):
    loaded = read_word_vectors(write(tmp_path, "cat 1 2\ncat 3 4\n"))
    np.testing.assert_array_equal(loaded.vectors["cat"], [1, 2])
    assert (loaded.dimension, loaded.file_words) == (2, 2)


@pytest.mark.parametrize(
    "text, message",
    [
        ("the 1 2 3\ncat 4 5\n", "line 2: 2 numbers where the vectors have 3"),
        ("the 1 2 3\ncat 4 five 6\n", "line 2: 'five' is not a number"),
        ("the 1 2 3\ncat 4 nan 6\n", "line 2: the vector of 'cat' is not finite"),
        ("3 3\nthe 1 2 3\n", "the header says 3 vectors, the file holds 1"),
        ("the 1 2\n", "holds vectors of 2 numbers, the model's embedding has 3"),
        ("\n\n", "holds no vectors"),
        ("the\n", "line 1: a word with no numbers"),
    ],
)
def test_bad_vector_files_change_nothing_and_say_what_is_wrong(tmp_path, text, message):
    lm = model()
    before = lm.params["embedding"].get_value()
    with pytest.raises(ValueError, match=message):
        lm.load_embeddings(write(tmp_path, text), VOCAB, freeze=True)
    np.testing.assert_array_equal(lm.params["embedding"].get_value(), before)
    assert not lm.frozen


def test_a_vectors_file_that_is_not_utf8_is_refused(tmp_path):
    path = tmp_path / "vectors.txt"
    path.write_bytes(b"the 1 2 3\n\xff\xfe 1 2 3\n")
    with pytest.raises(ValueError, match="not UTF-8"):
        model().load_embeddings(path, VOCAB)


def test_a_vocabulary_of_another_size_is_refused(tmp_path):
    path = write(tmp_path, "the 1 2 3\n")
    with pytest.raises(ValueError, match="the vocabulary has 6 words, the model's embedding 7 rows"):
        LanguageModel(7, 3, layers=[("elman", 3)]).load_embeddings(path, VOCAB)


def test_a_frozen_embedding_stays_as_loaded_while_the_rest_trains(tmp_path):
    lm = model()
    lm.load_embeddings(write(tmp_path, "the 1 2 3\ncat 4 5 6\n"), VOCAB, freeze=True)
    assert lm.frozen == {"embedding"} and lm.config()["frozen"] == ["embedding"]
    before = lm.parameter_values()
    lm.fit(X, Y, epochs=2, learning_rate=0.1, batch_size=2)
    after = lm.parameter_values()
    np.testing.assert_array_equal(after["embedding"], before["embedding"])
    assert all(not np.array_equal(after[name], before[name]) for name in ("layer0.Wx", "output.W", "output.b"))
    lm.save(tmp_path / "lm.npz")
    assert LanguageModel.load(tmp_path / "lm.npz").frozen == {"embedding"}


def test_freezing_names_real_parameters_and_leaves_some_to_train():
    with pytest.raises(ValueError, match="no parameter layer9.Wx"):
        model(frozen=["layer9.Wx"])
    with pytest.raises(ValueError, match="nothing to train"):
        model(frozen=list(model().params))
    with pytest.raises(TypeError, match="list of parameter names"):
        model(frozen="embedding")


def test_tied_embeddings_share_one_matrix_between_input_and_output(tmp_path):
    lm = model(tie_embeddings=True)
    assert "output.W" not in lm.params and "output.b" in lm.params
    untied = model()
    assert len(lm.params) == len(untied.params) - 1
    lm.fit(X, Y, epochs=1, learning_rate=0.1, batch_size=2)
    lm.save(tmp_path / "tied.npz")
    loaded = LanguageModel.load(tmp_path / "tied.npz")
    assert loaded.tie_embeddings and loaded.config()["tie_embeddings"] is True
    np.testing.assert_allclose(loaded.predict_proba(X)[0], lm.predict_proba(X)[0], rtol=1e-12)


@pytest.fixture(params=["c", "jax"])
def backend(request):
    """Each backend in turn: everything the test compiles is compiled for it."""
    with compiler.backend(request.param):
        yield request.param


def test_the_tied_models_loss_and_gradient_use_the_embedding_at_both_ends(backend):
    lm = model(tie_embeddings=True)
    rng = np.random.default_rng(0)
    for shared in lm.params.values():
        shared.set_value(rng.normal(scale=0.5, size=shared.get_value().shape))
    values = lm.parameter_values()
    # The output layer is the embedding's transpose: the loss, from the model's probabilities, by hand.
    probabilities = lm.predict_proba(X)
    expected = -sum(np.log(p[np.arange(len(y)), y]).sum() for p, y in zip(probabilities, Y))
    assert np.isclose(lm.loss(X, Y) * sum(len(y) for y in Y), expected, rtol=1e-10)
    # One SGD step moves the embedding by -lr times its gradient; compare it with central differences.
    lr, step = 1e-3, 1e-6
    lm.fit(X, Y, epochs=1, learning_rate=lr, batch_size=2)
    moved = (values["embedding"] - lm.params["embedding"].get_value()) / lr
    numeric = np.zeros_like(values["embedding"])
    for index in np.ndindex(numeric.shape):
        for sign in (1, -1):
            shifted = dict(values)
            shifted["embedding"] = values["embedding"].copy()
            shifted["embedding"][index] += sign * step
            lm.set_parameter_values(shifted)
            numeric[index] += sign * lm.loss(X, Y) * sum(len(y) for y in Y) / (2 * step)
    np.testing.assert_allclose(moved, numeric, rtol=1e-5, atol=1e-8)


def test_tying_needs_the_top_layer_to_match_the_embedding():
    with pytest.raises(ValueError, match=r"top layer's size \(4\) to equal embedding_dim \(3\)"):
        LanguageModel(len(WORDS), 3, layers=[("elman", 4)], tie_embeddings=True)
    with pytest.raises(TypeError, match="tie_embeddings must be True or False"):
        model(tie_embeddings="yes")
