"""Bidirectional layers: a forward and a backward run of a unit, side by side, over each sequence's real steps."""

import numpy as np
import pytest

from aerann import LanguageModel, RecurrentStack, SequenceClassifier, SequenceTagger

BIGRU = {"unit": "gru", "size": 3, "bidirectional": True}


def next_input_data(count, rng):
    """Random bit sequences, one-hot, each step labelled with the next step's bit (the last with 0)."""
    X, Y = [], []
    for _ in range(count):
        bits = rng.integers(0, 2, rng.integers(3, 9))
        X.append(np.eye(2)[bits])
        Y.append(np.append(bits[1:], 0).astype(np.int32))
    return X, Y


@pytest.mark.slow
def test_tagging_each_step_with_the_next_input_needs_the_backward_half():
    rng = np.random.default_rng(0)
    (X, Y), (X_test, Y_test) = next_input_data(300, rng), next_input_data(100, rng)
    scores = {}
    for bidirectional in (True, False):
        tagger = SequenceTagger(2, 2, layers=[{"unit": "gru", "size": 8, "bidirectional": bidirectional}], seed=1)
        tagger.fit(X, Y, epochs=8, learning_rate=0.01, optimizer="adam", batch_size=16)
        scores[bidirectional] = tagger.score(X_test, Y_test)
    assert scores[True] >= 0.95
    # A forward tagger cannot know the next bit: half of the steps, and the last steps' 0 labels.
    assert scores[False] < 0.7


def test_the_output_is_the_forward_run_beside_the_backward_run_of_the_reversed_sequence():
    stack = RecurrentStack(2, [BIGRU, ("elman", 2)], seed=3)
    assert stack.n_out == 2 and [unit.n_in for unit in stack.units] == [2, 2, 6]
    x = np.random.default_rng(0).normal(size=(5, 2, 2))
    halves = {prefix: RecurrentStack(2, [("gru", 3)]) for prefix in ("layer0.", "layer0.backward.")}
    for prefix, half in halves.items():
        for name, shared in half.params.items():
            shared.set_value(stack.params[prefix + name[len("layer0."):]].get_value())
    forward, (forward_final,) = halves["layer0."](x)
    backward, (backward_final,) = halves["layer0.backward."](x[::-1])
    first = RecurrentStack(2, [BIGRU], seed=3)
    for name, shared in first.params.items():
        shared.set_value(stack.params[name].get_value())
    both, (final_forward, final_backward) = first(x)
    np.testing.assert_allclose(both, np.concatenate([forward, backward[::-1]], axis=2), rtol=1e-12)
    np.testing.assert_allclose(final_forward[0], forward_final[0], rtol=1e-12)
    np.testing.assert_allclose(final_backward[0], backward_final[0], rtol=1e-12)


def test_padding_reaches_neither_direction():
    tagger = SequenceTagger(2, 3, layers=[BIGRU, ("lstm", 2)], seed=2)
    rng = np.random.default_rng(1)
    short, long = rng.normal(size=(3, 2)), rng.normal(size=(7, 2))
    alone = tagger.predict_proba([short])[0]
    together = tagger.predict_proba([long, short])[1]
    np.testing.assert_allclose(together, alone, rtol=1e-12)
    probabilities, final = tagger.run([short, long])
    assert [len(unit_states) for unit_states in final] == [1, 1, 2]  # forward GRU, backward GRU, LSTM


def test_bidirectional_models_train_save_and_load(tmp_path):
    classifier = SequenceClassifier(2, layers=[{**BIGRU, "dropout": 0.2, "recurrent_dropout": 0.1}],
                                    vocab_size=5, embedding_dim=3)
    assert classifier.stack.dropout == [0.2] and classifier.stack.recurrent_dropout == [0.1]
    X, Y = [np.array([1, 2, 3]), np.array([3, 2])], np.array([0, 1])
    classifier.fit(X, Y, epochs=2, learning_rate=0.1, batch_size=2)
    classifier.save(tmp_path / "classifier.npz")
    loaded = SequenceClassifier.load(tmp_path / "classifier.npz")
    assert loaded.config()["layers"] == [{"unit": "gru", "size": 3, "kwargs": {"activation": "tanh"},
                                          "bidirectional": True, "dropout": 0.2, "recurrent_dropout": 0.1}]
    np.testing.assert_array_equal(loaded.predict_proba(X)[0], classifier.predict_proba(X)[0])
    assert "layer0.backward.Whh" in loaded.params


def test_a_language_model_refuses_a_bidirectional_layer():
    with pytest.raises(ValueError, match="layer 1 is bidirectional, which a language model cannot have"):
        LanguageModel(5, 3, layers=[("gru", 3), BIGRU])


@pytest.mark.parametrize("spec, error, message", [
    ({"unit": "gru"}, ValueError, "a dict spec has the keys unit and size"),
    ({"unit": "gru", "size": 3, "direction": "both"}, ValueError, r"got \['direction', 'size', 'unit'\]"),
    ({"unit": "gru", "size": 3, "bidirectional": "yes"}, TypeError, "bidirectional must be True or False"),
    ({"unit": "gru", "size": 3, "dropout": 1.5}, ValueError, r"layer 0: dropout must be a rate in \[0, 1\)"),
    ({"unit": "gru", "size": 3, "kwargs": [1]}, TypeError, "keyword arguments must be a dict"),
])
def test_bad_dict_specs_say_what_a_spec_holds(spec, error, message):
    with pytest.raises(error, match=message):
        SequenceTagger(2, 2, layers=[spec])


def test_only_a_language_model_has_a_step_function():
    with pytest.raises(ValueError, match="only a LanguageModel has the 'step' function, not a SequenceTagger"):
        SequenceTagger(2, 2, layers=[BIGRU]).compiled("step")


def test_a_bidirectional_stack_runs_no_single_steps():
    stack = RecurrentStack(2, [BIGRU])
    with pytest.raises(ValueError, match="needs the whole sequence"):
        stack.symbolic_step(stack.symbolic_states()[0][0], stack.symbolic_states())
