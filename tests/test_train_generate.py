"""The tutorial's training loop lowers the loss; sampled sentences are clean and finite."""

import numpy as np
import pytest

from aerann import RNNNumpy, RNNTheano, generate_sentence, train_with_sgd
from aerann.corpora import agreement_sentences
from aerann.text import UNKNOWN_TOKEN, Vocabulary, training_data


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
        callback=lambda model, n, loss: seen.append((n, loss)),
    )
    assert losses == seen
    assert [n for n, _ in losses] == [100 * epoch for epoch in range(11)]
    assert abs(losses[0][1] - np.log(len(vocab))) < 0.05
    assert losses[-1][1] < 0.6 * losses[0][1]


def test_the_loop_trains_rnnnumpy_too_and_halves_the_rate_when_the_loss_rises(data, capsys):
    vocab, X, Y = data
    np.random.seed(10)
    model = RNNNumpy(len(vocab), hidden_dim=8)
    losses = train_with_sgd(model, X[:30], Y[:30], learning_rate=5.0, nepoch=4, evaluate_loss_after=1)
    printed = capsys.readouterr().out
    assert "Loss after num_examples_seen=0 epoch=0" in printed
    if any(b > a for (_, a), (_, b) in zip(losses, losses[1:])):
        assert "Setting learning rate to 2.500000" in printed


def test_bad_training_arguments(data, theano_model):
    _, X, Y = data
    with pytest.raises(ValueError, match="input sequences"):
        train_with_sgd(theano_model, X, Y[:-1])
    with pytest.raises(ValueError, match="nepoch"):
        train_with_sgd(theano_model, X, Y, nepoch=0)
    with pytest.raises(ValueError, match="learning_rate"):
        train_with_sgd(theano_model, X, Y, learning_rate=-1)


def test_generated_sentences_are_clean_and_bounded(data, theano_model):
    vocab, _, _ = data
    V = theano_model.V.get_value()
    boosted = V.copy()
    boosted[vocab.unknown_index] += 50.0  # make UNKNOWN_TOKEN by far the likeliest word
    theano_model.V.set_value(boosted)
    try:
        rng = np.random.default_rng(0)
        for _ in range(5):
            words = generate_sentence(theano_model, vocab, min_length=3, max_length=8, rng=rng)
            assert UNKNOWN_TOKEN not in words
            assert 3 <= len(words) <= 8
    finally:
        theano_model.V.set_value(V)


def test_generation_works_for_rnnnumpy_and_is_reproducible(data):
    vocab, _, _ = data
    np.random.seed(1)
    model = RNNNumpy(len(vocab), hidden_dim=4)
    first = generate_sentence(model, vocab, max_length=20, rng=7)
    assert first == generate_sentence(model, vocab, max_length=20, rng=7)
    assert len(first) <= 20
    with pytest.raises(ValueError, match="min_length"):
        generate_sentence(model, vocab, min_length=5, max_length=2)
