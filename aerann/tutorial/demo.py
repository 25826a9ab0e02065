"""The main job: the WildML tutorial, end to end, on a corpus that ships with Python.

``aerann demo`` tokenises the embedded corpus, builds the tutorial's
vocabulary, compares the expected loss of random predictions with the
model's, times one SGD step of RNNNumpy against RNNTheano, trains with the
tutorial's SGD loop, saves the parameters (the tutorial's npz format) and the
vocabulary, and prints generated sentences.
"""

import time
from pathlib import Path

import numpy as np

from aerann.data import corpora
from aerann.data.text import training_data, Vocabulary
from aerann.reference.rnn_numpy import RNNNumpy
from aerann.tutorial import load_model_parameters_theano, RNNTheano, save_model_parameters_theano
from aerann.tutorial.generate import generate_sentence
from aerann.tutorial.sgd import train_with_sgd

MODEL_FILE = "rnn-theano.npz"
VOCABULARY_FILE = "vocabulary.json"


def step_time(step, x, y, repeats: int = 5) -> float:
    """Median seconds of ``step(x, y, 0.0)`` (a zero learning rate leaves the model as it was)."""
    step(x, y, 0.0)
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        step(x, y, 0.0)
        times.append(time.perf_counter() - start)
    return float(np.median(times))


def print_pair(x, y, vocab) -> None:
    print(f"x:\n{' '.join(vocab.decode(x))}\n{list(map(int, x))}")
    print(f"y:\n{' '.join(vocab.decode(y))}\n{list(map(int, y))}")


def run(
    out: Path,
    corpus: str = "pydoc",
    vocabulary_size: int = 2000,
    hidden_dim: int = 50,
    sentences: int = 5000,
    max_words: int = 30,
    nepoch: int = 10,
    learning_rate: float = 0.005,
    bptt_truncate: int = 1000,
    seed: int = 10,
    generated: int = 10,
):
    """Train, report and save; returns the trained model and its vocabulary."""
    if min(vocabulary_size, hidden_dim, sentences, max_words, nepoch) < 1:
        raise ValueError("--vocab, --hidden, --sentences, --max-words and --epochs must be positive")
    tokenized = corpora.default_corpus(corpus)
    print(f"Parsed {len(tokenized)} sentences from the embedded corpus {corpus!r}.")
    vocab = Vocabulary.build(tokenized, vocabulary_size)
    print(f"Found {vocab.distinct_words} unique word tokens.")
    word, count = vocab.least_frequent()
    print(f"Using vocabulary size {len(vocab)}.")
    print(f"The least frequent word in our vocabulary is '{word}' and appeared {count} times.")

    short = [s for s in tokenized if 3 <= len(s) <= max_words + 2]
    rng = np.random.default_rng(seed)
    chosen = [short[i] for i in sorted(rng.permutation(len(short))[:sentences])]
    example = chosen[0]
    print(f"\nExample sentence: '{' '.join(example[1:-1])}'")
    print(f"Example sentence after pre-processing: {vocab.decode(vocab.encode(example))}\n")
    X_train, y_train = training_data(chosen, vocab)
    print_pair(X_train[0], y_train[0], vocab)

    np.random.seed(seed)
    model = RNNTheano(len(vocab), hidden_dim=hidden_dim, bptt_truncate=bptt_truncate)
    loss = model.calculate_loss(X_train[:100], y_train[:100])
    print(f"Expected loss for random predictions: {np.log(len(vocab)):f}")
    print(f"Actual loss: {loss:f}")

    np.random.seed(seed)
    reference = RNNNumpy(len(vocab), hidden_dim=hidden_dim, bptt_truncate=bptt_truncate)
    numpy_step = step_time(reference.sgd_step, X_train[0], y_train[0])
    theano_step = step_time(model.sgd_step, X_train[0], y_train[0])
    print(f"Compiled RNNTheano's ce_error and sgd_step in {model.compile_seconds():.1f} s.")
    print(
        f"SGD step on one sentence of {len(X_train[0])} words: RNNNumpy {numpy_step * 1e3:.2f} ms, "
        f"RNNTheano {theano_step * 1e3:.2f} ms ({numpy_step / theano_step:.1f}x faster)\n"
    )

    train_with_sgd(model, X_train, y_train, learning_rate=learning_rate, nepoch=nepoch, evaluate_loss_after=1)

    out.mkdir(parents=True, exist_ok=True)
    save_model_parameters_theano(out / MODEL_FILE, model)
    vocab.save(out / VOCABULARY_FILE)
    print(f"\nSaved the model to {out / MODEL_FILE} and the vocabulary to {out / VOCABULARY_FILE}.")
    print(f"Generate more with: aerann generate --model {out / MODEL_FILE}\n")
    sampler = np.random.default_rng(seed)
    for _ in range(generated):
        print(" ".join(generate_sentence(model, vocab, min_length=7, rng=sampler)))
    print(f"\nRNNTheano's functions took {model.compile_seconds():.1f} s to compile in all "
          "(or to load from the cache of earlier runs).")
    return model, vocab


def model_from_files(model_path: Path, vocab_path: Path):
    """(RNNTheano, Vocabulary) of a tutorial parameter file and its vocabulary file."""
    if not model_path.is_file():
        raise ValueError(f"no model file at {model_path}")
    if not vocab_path.is_file():
        raise ValueError(f"no vocabulary file at {vocab_path} (pass --vocab)")
    vocab = Vocabulary.load(vocab_path)
    model = RNNTheano(len(vocab), hidden_dim=1)
    load_model_parameters_theano(model_path, model)
    if model.word_dim != len(vocab):
        raise ValueError(
            f"{model_path} has a vocabulary of {model.word_dim} words but {vocab_path} has {len(vocab)}"
        )
    return model, vocab
