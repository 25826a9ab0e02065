"""The WildML RNN language model tutorial (parts 2 and 3), step by step, on aerann.

What the tutorial prints, in its order: the corpus statistics and the
vocabulary, an example sentence before and after preprocessing, one x/y
training pair, the expected loss of random predictions against the actual
one, the tutorial's gradient check, the SGD step time of RNNNumpy against
RNNTheano, the loss after each of 10 epochs on 100 examples (halving the
learning rate when it rises), and ten generated sentences of at least 7 words.

The tutorial generated its sentences from a model it trained for 20 hours
and shipped as an npz file; here a model is trained on more of the corpus
for a few minutes first (``--train-sentences``), or loaded from a parameter
file in the tutorial's format (``--params``, e.g. its
``trained-model-theano.npz`` together with ``--data`` its reddit CSV and
``--vocab 8000``).

    python examples/rnnlm.py                       # the embedded corpus (Python's help texts)
    python examples/rnnlm.py --data comments.csv   # the tutorial's CSV (a "body" column) or a .txt file
    python examples/rnnlm.py --quick               # tiny sizes, seconds
"""

import time
from pathlib import Path

import numpy as np
from _common import Timer, out_dir, parser, write_results

import aerann
from aerann.data import corpora
from aerann.data.text import (
    SENTENCE_END,
    SENTENCE_START,
    UNKNOWN_TOKEN,
    Vocabulary,
    read_comments_csv,
    read_text,
    training_data,
)
from aerann.tutorial.demo import print_pair, step_time


def read_corpus(args):
    """Tokenised sentences (wrapped in start/end tokens) and a description of where they came from."""
    if args.data is None:
        return corpora.default_corpus(args.corpus), f"the embedded corpus {args.corpus!r}"
    if args.data.suffix.lower() == ".csv":
        return read_comments_csv(args.data), f"{args.data} (column 'body')"
    return read_text(args.data), str(args.data)


def main(argv=None):
    ap = parser(__doc__.split("\n")[0], "rnnlm")
    ap.add_argument("--data", type=Path, help="the tutorial's comments CSV or a text file")
    ap.add_argument("--corpus", default="pydoc", choices=corpora.NAMES, help="embedded corpus when --data is not given")
    ap.add_argument("--vocab", type=int, default=8000, help="vocabulary size (the tutorial's 8000)")
    ap.add_argument("--hidden", type=int, default=100, help="hidden units (the tutorial's 100)")
    ap.add_argument("--bptt", type=int, default=4, help="bptt_truncate of the tutorial's models")
    ap.add_argument("--examples", type=int, default=100, help="sentences of the 10-epoch experiment")
    ap.add_argument("--epochs", type=int, default=10, help="epochs of that experiment")
    ap.add_argument("--lr", type=float, default=0.005, help="SGD learning rate")
    ap.add_argument("--model", choices=("numpy", "theano"), default="numpy",
                    help="which class trains in the 10-epoch experiment (the tutorial used RNNNumpy)")
    ap.add_argument("--train-sentences", type=int, default=3000,
                    help="sentences for the model that generates text (0: generate from the experiment's model)")
    ap.add_argument("--train-epochs", type=int, default=20, help="epochs for that model")
    ap.add_argument("--train-hidden", type=int, default=50, help="hidden units of that model")
    ap.add_argument("--max-words", type=int, default=30, help="longest sentence (words) it trains on")
    ap.add_argument("--params", type=Path,
                    help="generate from this tutorial npz file (U, V, W) instead of training a model")
    ap.add_argument("--generate", type=int, default=10, help="sentences to generate")
    ap.add_argument("--min-words", type=int, default=7, help="shortest generated sentence")
    args = ap.parse_args(argv)
    if args.quick:
        args.vocab, args.hidden, args.examples, args.epochs = min(args.vocab, 200), 16, 20, 4
        args.train_sentences = 0  # generate from the experiment's model
        args.max_words = min(args.max_words, 15)
    out = out_dir(args.out)
    started = time.perf_counter()
    results = {}

    # --- Part 2: data --------------------------------------------------------------------------
    tokenized, source = read_corpus(args)
    print(f"Reading {source}...")
    print(f"Parsed {len(tokenized)} sentences.")
    vocab = Vocabulary.build(tokenized, args.vocab)
    print(f"Found {vocab.distinct_words} unique words tokens.")
    word, count = vocab.least_frequent()
    print(f"Using vocabulary size {len(vocab)}.")
    print(f"The least frequent word in our vocabulary is '{word}' and appeared {count} times.")
    results.update(sentences=len(tokenized), unique_tokens=vocab.distinct_words, vocabulary_size=len(vocab),
                   least_frequent=[word, count])

    # The tutorial shows a sentence of the corpus with its rare words replaced.
    rng = np.random.default_rng(args.seed)
    with_unknown = [s for s in tokenized if 8 <= len(s) <= 25 and any(w not in vocab for w in s)]
    example = (with_unknown or tokenized)[0]
    preprocessed = [w if w in vocab else UNKNOWN_TOKEN for w in example]
    print(f"\nExample sentence: '{' '.join(example[1:-1])}'")
    print(f"\nExample sentence after Pre-processing: '{preprocessed[1:-1]}'")

    X_train, y_train = training_data(tokenized, vocab)
    print()
    print_pair(X_train[10 % len(X_train)], y_train[10 % len(y_train)], vocab)

    # --- Part 2: the model at initialisation ---------------------------------------------------
    np.random.seed(args.seed)
    numpy_model = aerann.RNNNumpy(len(vocab), hidden_dim=args.hidden, bptt_truncate=args.bptt)
    x0, y0 = X_train[10 % len(X_train)], y_train[10 % len(y_train)]
    o, s = numpy_model.forward_propagation(x0)
    print(f"\nforward_propagation: o {o.shape}, s {s.shape}; predict: {numpy_model.predict(x0)[:10]} ...")
    sample = min(1000, len(X_train))
    expected, actual = float(np.log(len(vocab))), float(numpy_model.calculate_loss(X_train[:sample], y_train[:sample]))
    print(f"Expected Loss for random predictions: {expected:f}")
    print(f"Actual loss: {actual:f}")
    results.update(expected_random_loss=expected, initial_loss=actual)

    # The tutorial's gradient check, on a small model as it does (vocabulary 100, 10 hidden units).
    np.random.seed(args.seed)
    small = aerann.RNNNumpy(100, hidden_dim=10, bptt_truncate=1000)
    passed = small.gradient_check([0, 1, 2, 3], [1, 2, 3, 4])
    print(f"Gradient check of RNNNumpy: {'passed' if passed else 'FAILED'}")
    results["gradient_check"] = bool(passed)

    # --- Part 3: RNNNumpy against RNNTheano --------------------------------------------------------
    np.random.seed(args.seed)
    with Timer() as compile_time:
        theano_model = aerann.RNNTheano(len(vocab), hidden_dim=args.hidden, bptt_truncate=args.bptt)
    numpy_step = step_time(numpy_model.sgd_step, x0, y0)
    theano_step = step_time(theano_model.sgd_step, x0, y0)
    print(f"\nRNNTheano compiled in {compile_time.seconds:.1f} s.")
    print(f"One SGD step on a sentence of {len(x0)} words (vocabulary {len(vocab)}, {args.hidden} hidden units):")
    print(f"  RNNNumpy  {numpy_step * 1e3:8.2f} ms")
    print(f"  RNNTheano {theano_step * 1e3:8.2f} ms   ({numpy_step / theano_step:.1f}x faster)")
    results.update(sgd_step_ms={"numpy": numpy_step * 1e3, "theano": theano_step * 1e3})

    # --- Part 2: 10 epochs on 100 examples, halving the learning rate when the loss rises ----------
    n = min(args.examples, len(X_train))
    print(f"\nTraining {'RNNNumpy' if args.model == 'numpy' else 'RNNTheano'} on {n} examples for {args.epochs} epochs:")
    np.random.seed(args.seed)
    cls = aerann.RNNNumpy if args.model == "numpy" else aerann.RNNTheano
    model = cls(len(vocab), hidden_dim=args.hidden, bptt_truncate=args.bptt)
    with Timer() as train_time:
        losses = aerann.train_with_sgd(model, X_train[:n], y_train[:n], learning_rate=args.lr,
                                       nepoch=args.epochs, evaluate_loss_after=1)
    print(f"({train_time.seconds:.0f} s)")
    results["epoch_losses"] = [loss for _, loss in losses]

    # --- Part 3: generating text -----------------------------------------------------------------
    if args.params is not None:
        generator = aerann.RNNTheano(len(vocab), hidden_dim=1)
        aerann.load_model_parameters_theano(args.params, generator)
        if generator.word_dim != len(vocab):
            raise SystemExit(f"{args.params} has a vocabulary of {generator.word_dim} words but the data gives "
                             f"{len(vocab)}: pass --vocab {generator.word_dim} with the data it was trained on")
        label = str(args.params)
    elif args.train_sentences > 0:
        short = [s for s in tokenized if 3 <= len(s) <= args.max_words + 2]
        chosen = [short[i] for i in sorted(rng.permutation(len(short))[: args.train_sentences])]
        Xg, yg = training_data(chosen, vocab)
        print(f"\nTraining RNNTheano (hidden {args.train_hidden}, full BPTT) on {len(Xg)} sentences of at most "
              f"{args.max_words} words for {args.train_epochs} epochs, to generate from:")
        np.random.seed(args.seed)
        generator = aerann.RNNTheano(len(vocab), hidden_dim=args.train_hidden, bptt_truncate=1000)
        with Timer() as gen_time:
            gen_losses = aerann.train_with_sgd(generator, Xg, yg, learning_rate=args.lr,
                                               nepoch=args.train_epochs, evaluate_loss_after=1)
        print(f"({gen_time.seconds:.0f} s)")
        results["generator_losses"] = [loss for _, loss in gen_losses]
        path = aerann.save_model_parameters_theano(out / "rnn-theano.npz", generator)
        vocab.save(out / "vocabulary.json")
        results["saved_params"] = str(path)
        label = f"the model trained on {len(Xg)} sentences"
    else:
        generator, label = model, "the 10-epoch model"

    print(f"\n{args.generate} sentences from {label}, at least {args.min_words} words each:")
    sampler = np.random.default_rng(args.seed)
    sentences = []
    for _ in range(args.generate):
        words = aerann.generate_sentence(generator, vocab, min_length=args.min_words, rng=sampler)
        sentences.append(words)
        print("  " + " ".join(words))
    results["generated"] = [" ".join(w) for w in sentences]
    results["generated_ok"] = all(
        len(w) >= args.min_words and not {UNKNOWN_TOKEN, SENTENCE_START, SENTENCE_END} & set(w) for w in sentences
    )
    results["seconds"] = time.perf_counter() - started
    write_results(out, results)


if __name__ == "__main__":
    main()
