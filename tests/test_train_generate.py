"""The tutorial's training loop lowers the loss; sampled sentences are clean, bounded and follow the model."""

import numpy as np
import pytest

from aerann import generate_sentence, LanguageModel, RNNNumpy, RNNTheano, train_with_sgd
from aerann.data.corpora import agreement_sentences
from aerann.data.text import SENTENCE_END, SENTENCE_START, training_data, UNKNOWN_TOKEN, Vocabulary


@pytest.fixture(scope="module")
def data():
    sentences = agreement_sentences(100, seed=2)
    vocab = Vocabulary.build(sentences, 16)  # small enough that some words become UNKNOWN
    X, Y = training_data(sentences, vocab)
    return vocab, X, Y


@pytest.fixture(scope="module")
def theano_model(data):
    vocab, _, _ = data
    np.random.seed(10)
    return RNNTheano(len(vocab), hidden_dim=12, bptt_truncate=100)


def test_ten_epochs_lower_the_loss_clearly(data, theano_model):
    vocab, X, Y = data
    seen = []
    losses = train_with_sgd(
        theano_model, X, Y, learning_rate=0.05, nepoch=10, evaluate_loss_after=1,
        callback=lambda model, n, loss: seen.append((model, n, loss)),
    )
    assert seen == [(theano_model, n, loss) for n, loss in losses]
    assert [n for n, _ in losses] == [100 * epoch for epoch in range(11)]
    assert abs(losses[0][1] - np.log(len(vocab))) < 0.05
    assert losses[-1][1] < 0.6 * losses[0][1]


def test_the_loop_trains_rnnnumpy_too(data):
    vocab, X, Y = data
    np.random.seed(10)
    model = RNNNumpy(len(vocab), hidden_dim=8)
    losses = train_with_sgd(model, X[:30], Y[:30], learning_rate=0.05, nepoch=3, evaluate_loss_after=1)
    assert losses[-1][1] < losses[0][1] - 0.3


class ScriptedModel:
    """Stands in for a model: reports scripted losses and records the learning rate of every step."""

    word_dim = 5

    def __init__(self, losses):
        self.losses = iter(losses)
        self.rates = []

    def calculate_loss(self, X, Y):
        return next(self.losses)

    def sgd_step(self, x, y, learning_rate):
        self.rates.append(learning_rate)


def test_the_rate_is_halved_when_the_loss_rises_and_the_tutorials_lines_are_printed(capsys):
    model = ScriptedModel([3.0, 2.0, 2.5, 2.4])  # evaluated before epochs 0, 2, 4 and after the last
    X, Y = [[0, 1], [1, 2]], [[1, 2], [2, 3]]
    losses = train_with_sgd(model, X, Y, learning_rate=0.4, nepoch=5, evaluate_loss_after=2)
    assert losses == [(0, 3.0), (4, 2.0), (8, 2.5), (10, 2.4)]
    assert model.rates == [0.4] * 8 + [0.2] * 2  # two sentences per epoch, halved before epoch 4
    printed = capsys.readouterr().out
    assert ": Loss after num_examples_seen=4 epoch=2: 2.000000" in printed
    assert ": Loss after num_examples_seen=10 epoch=5: 2.400000" in printed
    assert printed.count("Setting learning rate to 0.200000") == 1


def test_the_progress_bar_is_shown_on_request_only(capsys):
    X, Y = [[0, 1]], [[1, 2]]
    train_with_sgd(ScriptedModel([1.0, 1.0]), X, Y, progress=True)
    assert "epoch 1/1" in capsys.readouterr().err
    train_with_sgd(ScriptedModel([1.0, 1.0]), X, Y, progress=False)
    assert capsys.readouterr().err == ""
    train_with_sgd(ScriptedModel([1.0, 1.0]), X, Y)  # standard error is not a terminal under pytest
    assert capsys.readouterr().err == ""


def test_bad_training_arguments(data, theano_model):
    _, X, Y = data
    with pytest.raises(ValueError, match="input sequences"):
        train_with_sgd(theano_model, X, Y[:-1])
    with pytest.raises(ValueError, match="the dataset is empty"):
        train_with_sgd(theano_model, [], [])
    with pytest.raises(ValueError, match=r"X\[3\] holds token index 99"):
        train_with_sgd(theano_model, [*X[:3], [99], *X[4:]], Y)
    with pytest.raises(ValueError, match="nepoch"):
        train_with_sgd(theano_model, X, Y, nepoch=0)
    with pytest.raises(ValueError, match="learning_rate"):
        train_with_sgd(theano_model, X, Y, learning_rate=-1)
    with pytest.raises(TypeError, match="callback"):
        train_with_sgd(theano_model, X, Y, callback="print")


class FixedModel:
    """Stands in for a model: the same next-word distribution after every prefix."""

    def __init__(self, probabilities):
        self.probabilities = np.asarray(probabilities, dtype=float)
        self.word_dim = len(self.probabilities)

    def forward_propagation(self, x):
        return np.tile(self.probabilities, (len(x), 1))


class TinyVocabulary:
    """The part of aerann.data.text.Vocabulary that generation needs."""

    index_to_word = [SENTENCE_START, SENTENCE_END, "a", "b", UNKNOWN_TOKEN]
    word_to_index = {w: i for i, w in enumerate(index_to_word)}
    start_index, end_index, unknown_index = 0, 1, 4


def test_sampling_follows_the_renormalised_distribution():
    # START and UNKNOWN hold most of the mass; without them END : a : b = 1 : 1 : 2.
    model = FixedModel([0.3, 0.1, 0.1, 0.2, 0.3])
    rng = np.random.default_rng(0)
    first_words = [tuple(generate_sentence(model, TinyVocabulary(), max_length=1, rng=rng))[:1] for _ in range(4000)]
    frequencies = {word: first_words.count(word) / len(first_words) for word in [(), ("a",), ("b",)]}
    assert frequencies == pytest.approx({(): 0.25, ("a",): 0.25, ("b",): 0.5}, abs=0.03)


def test_min_and_max_length_bound_every_sentence():
    model = FixedModel([0.0, 0.9, 0.05, 0.05, 0.0])  # END is by far the likeliest word
    rng = np.random.default_rng(1)
    for _ in range(50):
        words = generate_sentence(model, TinyVocabulary(), min_length=3, max_length=5, rng=rng)
        assert 3 <= len(words) <= 5 and set(words) <= {"a", "b"}
    model = FixedModel([0.0, 0.0, 0.5, 0.5, 0.0])  # END never comes: max_length ends the sentence
    assert len(generate_sentence(model, TinyVocabulary(), max_length=7, rng=rng)) == 7


def test_a_model_that_only_wants_unknown_words_still_gets_a_clean_sentence():
    model = FixedModel([0.0, 0.0, 0.0, 0.0, 1.0])
    words = generate_sentence(model, TinyVocabulary(), min_length=2, max_length=4, rng=3)
    assert 2 <= len(words) <= 4 and set(words) <= {"a", "b"}


def test_generated_sentences_from_rnntheano_are_clean_and_bounded(data, theano_model):
    vocab, _, _ = data
    V = theano_model.V.get_value()
    boosted = V.copy()
    boosted[vocab.unknown_index] += 50.0  # make UNKNOWN_TOKEN by far the likeliest word
    theano_model.V.set_value(boosted)
    try:
        rng = np.random.default_rng(0)
        for _ in range(5):
            words = generate_sentence(theano_model, vocab, min_length=3, max_length=8, rng=rng)
            assert UNKNOWN_TOKEN not in words and SENTENCE_START not in words and SENTENCE_END not in words
            assert 3 <= len(words) <= 8
            assert set(words) <= set(vocab.index_to_word)
    finally:
        theano_model.V.set_value(V)


def test_generation_works_for_rnnnumpy_and_is_reproducible(data):
    vocab, _, _ = data
    np.random.seed(1)
    model = RNNNumpy(len(vocab), hidden_dim=4)
    first = generate_sentence(model, vocab, max_length=20, rng=7)
    assert first == generate_sentence(model, vocab, max_length=20, rng=7)
    assert len(first) <= 20
    np.random.seed(5)  # without rng, the global np.random draws, as in the tutorial
    sentences = [generate_sentence(model, vocab, max_length=20) for _ in range(3)]
    np.random.seed(5)
    assert sentences == [generate_sentence(model, vocab, max_length=20) for _ in range(3)]


def test_generation_samples_a_language_models_next_word_distribution(data):
    vocab, X, Y = data
    model = LanguageModel(len(vocab), 3, layers=[("elman", 4)], seed=0)
    model.fit(X[:20], Y[:20], epochs=1, batch_size=10, learning_rate=0.05)
    words = generate_sentence(model, vocab, min_length=3, max_length=12, rng=3)
    assert 3 <= len(words) <= 12 and UNKNOWN_TOKEN not in words and SENTENCE_START not in words
    assert words == generate_sentence(model, vocab, min_length=3, max_length=12, rng=3)
    with pytest.raises(ValueError, match="the vocabulary has 16 words but the model 5"):
        generate_sentence(LanguageModel(5, 2, layers=[("elman", 2)]), vocab)


def test_bad_generation_arguments(data):
    vocab, _, _ = data
    model = RNNNumpy(len(vocab), hidden_dim=4)
    with pytest.raises(ValueError, match="min_length"):
        generate_sentence(model, vocab, min_length=5, max_length=2)
    with pytest.raises(TypeError, match="max_length"):
        generate_sentence(model, vocab, max_length=2.5)
    with pytest.raises(ValueError, match="vocabulary has 16 words but the model 17"):
        generate_sentence(RNNNumpy(len(vocab) + 1, hidden_dim=4), vocab)
    words_only = TinyVocabulary()
    words_only.index_to_word = [SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN]
    words_only.unknown_index = 2
    with pytest.raises(ValueError, match="no ordinary words"):
        generate_sentence(FixedModel([0.2, 0.3, 0.5]), words_only, min_length=1)
