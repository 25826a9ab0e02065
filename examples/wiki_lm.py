"""A stacked GRU / LSTM language model with word embeddings, word analogies and a map of the embeddings.

The book trains this on Wikipedia; nothing can be downloaded here, so the
default text is the largest one every Python carries, the standard
library's help texts (about 72k words), and ``--data`` takes any larger text
file (or the tutorial's comments CSV).  The vocabulary is the ``--vocab``
most common words (the rest become UNKNOWN_TOKEN); the model is aerann's
LanguageModel with an embedding of ``--embedding`` dimensions and
``--layers`` layers of ``--unit`` (any registered unit: gru, lstm, elman,
rated, or a plugin's), trained with RMSprop on minibatches; 5% of the
sentences are held out for the validation perplexity.

After training, analogies "a is to b as c is to ?" (king - man + woman)
are answered by the word whose embedding is nearest to
E[a] - E[b] + E[c], by Euclidean distance and by cosine distance, and the
embeddings of the most frequent words are projected on their two principal
components and plotted.

    python examples/wiki_lm.py --unit gru
    python examples/wiki_lm.py --unit lstm --data enwiki-sample.txt --vocab 5000 --analogy king,man,woman
    python examples/wiki_lm.py --dropout 0.3 --tied --embedding 64   # regularised: dropout, tied embeddings
    python examples/wiki_lm.py --quick
"""

import time
from pathlib import Path

import numpy as np
from _common import Timer, out_dir, parser, pyplot, write_results

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

# Analogies the help texts can answer (a is to b as c is to ?); --analogy adds others.
DEFAULT_ANALOGIES = [
    ("lists", "list", "tuple"),
    ("integers", "integer", "string"),
    ("true", "false", "yes"),
    ("methods", "method", "function"),
    ("keys", "key", "value"),
    ("king", "man", "woman"),
]

NEIGHBOUR_WORDS = ["list", "integer", "true", "if", "class", "returns", "error", "two"]


def nearest(E, vector, exclude, k=3):
    """The k nearest rows of E to ``vector`` by Euclidean and by cosine distance (indices, ``exclude`` left out)."""
    euclid = np.linalg.norm(E - vector, axis=1)
    norms = np.linalg.norm(E, axis=1) * np.linalg.norm(vector) + 1e-12
    cosine = 1 - (E @ vector) / norms
    euclid[list(exclude)] = np.inf
    cosine[list(exclude)] = np.inf
    return np.argsort(euclid)[:k].tolist(), np.argsort(cosine)[:k].tolist()


def analogies(E, vocab, triples):
    """Answers to "a is to b as c is to ?" for every triple whose words are all in the vocabulary."""
    answers = []
    for a, b, c in triples:
        missing = [w for w in (a, b, c) if w not in vocab]
        if missing:
            print(f"  {a} - {b} + {c}: skipped ({', '.join(missing)} not in the vocabulary)")
            continue
        ia, ib, ic = (vocab.word_to_index[w] for w in (a, b, c))
        special = {vocab.unknown_index, vocab.start_index, vocab.end_index}
        by_euclid, by_cosine = nearest(E, E[ia] - E[ib] + E[ic], {ia, ib, ic} | special)
        euclid = [vocab.index_to_word[i] for i in by_euclid]
        cosine = [vocab.index_to_word[i] for i in by_cosine]
        print(f"  {a} - {b} + {c} = {euclid[0]:12s} (Euclidean; then {', '.join(euclid[1:])})   "
              f"{cosine[0]:12s} (cosine; then {', '.join(cosine[1:])})")
        answers.append({"a": a, "b": b, "c": c, "euclidean": euclid, "cosine": cosine})
    return answers


def pca_2d(E):
    """Rows of E projected on their first two principal components."""
    centred = E - E.mean(axis=0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    return centred @ vt[:2].T


def main(argv=None):
    ap = parser(__doc__.split("\n")[0], "wiki_lm")
    ap.add_argument("--data", type=Path, help="a text file or the tutorial's comments CSV (default: Python's help texts)")
    ap.add_argument("--unit", default="gru", help="registered unit name: " + ", ".join(aerann.units.names()))
    ap.add_argument("--layers", type=int, default=2, help="stacked recurrent layers")
    ap.add_argument("--hidden", type=int, default=64, help="units per layer")
    ap.add_argument("--embedding", type=int, default=50, help="word embedding size")
    ap.add_argument("--vocab", type=int, default=2000, help="keep the n most common words")
    ap.add_argument("--max-words", type=int, default=40, help="longest sentence trained on")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--lr", type=float, default=0.003, help="RMSprop learning rate")
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--dropout", type=float, default=0.0,
                    help="dropout on the embedding's output and between layers, in training (default 0)")
    ap.add_argument("--recurrent-dropout", type=float, default=0.0,
                    help="variational dropout on each layer's state in its recurrent products (default 0)")
    ap.add_argument("--tie-embeddings", "--tied", action="store_true",
                    help="the output weights are the embedding's transpose (needs --embedding equal to --hidden)")
    ap.add_argument("--analogy", action="append", default=[], help="a,b,c: a is to b as c is to ? (repeatable)")
    ap.add_argument("--plot-words", type=int, default=150, help="most frequent words on the embedding plot")
    args = ap.parse_args(argv)
    if args.quick:
        args.layers, args.hidden, args.embedding, args.vocab = 2, 16, 12, min(args.vocab, 300)
        args.epochs, args.max_words, args.plot_words = 2, 20, 40
    out = out_dir(args.out)
    started = time.perf_counter()

    if args.data is None:
        sentences, source = corpora.default_corpus("pydoc"), "the embedded corpus 'pydoc'"
    elif args.data.suffix.lower() == ".csv":
        sentences, source = read_comments_csv(args.data), str(args.data)
    else:
        sentences, source = read_text(args.data), str(args.data)
    vocab = Vocabulary.build(sentences, args.vocab)
    sentences = [s for s in sentences if 3 <= len(s) <= args.max_words + 2]
    if args.quick:
        sentences = sentences[:400]
    order = np.random.default_rng(args.seed).permutation(len(sentences))
    held_out = max(1, len(sentences) // 20)
    validation = [sentences[i] for i in order[:held_out]]
    training = [sentences[i] for i in order[held_out:]]
    X, Y = training_data(training, vocab)
    Xv, Yv = training_data(validation, vocab)
    tokens = sum(len(y) for y in Y)
    print(f"{source}: {len(training)} training and {len(validation)} validation sentences of at most "
          f"{args.max_words} words ({tokens} training tokens); vocabulary {len(vocab)} of {vocab.distinct_words} words.")

    layers = [(args.unit, args.hidden)] * args.layers
    try:
        model = aerann.LanguageModel(len(vocab), args.embedding, layers=layers, seed=args.seed, dropout=args.dropout,
                                     recurrent_dropout=args.recurrent_dropout, tie_embeddings=args.tie_embeddings)
    except ValueError as error:
        raise SystemExit(f"wiki_lm.py: {error}") from None
    extras = ([f"dropout {args.dropout:g}"] * bool(args.dropout)
              + [f"recurrent dropout {args.recurrent_dropout:g}"] * bool(args.recurrent_dropout)
              + ["tied embeddings"] * args.tie_embeddings)
    print(f"LanguageModel: embedding {args.embedding}, layers {layers}{''.join(', ' + e for e in extras)}, "
          f"{sum(p.get_value().size for p in model.params.values())} parameters.")
    history = {"epoch": [0], "train": [], "validation": [model.score(Xv, Yv)]}
    history["train"].append(model.score(X, Y))
    print(f"epoch 0: training loss {history['train'][0]:.4f}, validation loss {history['validation'][0]:.4f} "
          f"(log V = {np.log(len(vocab)):.4f})")
    with Timer() as train_time:
        for epoch in range(1, args.epochs + 1):
            with Timer() as t:
                train_loss = model.fit(X, Y, epochs=1, learning_rate=args.lr, batch_size=args.batch_size,
                                       optimizer="rmsprop", seed=args.seed + epoch)[0]
            validation_loss = model.score(Xv, Yv)
            history["epoch"].append(epoch)
            history["train"].append(train_loss)
            history["validation"].append(validation_loss)
            print(f"epoch {epoch}: training loss {train_loss:.4f}, validation loss {validation_loss:.4f}, "
                  f"perplexity {np.exp(validation_loss):.1f} ({t.seconds:.0f} s)", flush=True)
    model.save(out / "wiki_lm.npz")
    vocab.save(out / "vocabulary.json")

    E = model.params["embedding"].get_value()
    triples = DEFAULT_ANALOGIES + [tuple(a.split(",")) for a in args.analogy if a.count(",") == 2]
    print("\nAnalogies, a - b + c (the nearest word, a, b and c excluded):")
    answers = analogies(E, vocab, triples)

    print("\nNearest words by cosine distance:")
    neighbours = {}
    for word in NEIGHBOUR_WORDS + [w for a in args.analogy for w in a.split(",")[:1]]:
        if word in vocab:
            i = vocab.word_to_index[word]
            _, by_cosine = nearest(E, E[i], {i, vocab.unknown_index, vocab.start_index, vocab.end_index}, k=5)
            neighbours[word] = [vocab.index_to_word[j] for j in by_cosine]
            print(f"  {word:10s} {', '.join(neighbours[word])}")

    special = {UNKNOWN_TOKEN, SENTENCE_START, SENTENCE_END}
    words = [w for w in vocab.index_to_word if w not in special and any(ch.isalpha() for ch in w)][: args.plot_words]
    xy = pca_2d(E[[vocab.word_to_index[w] for w in words]])
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(11, 9))
    ax.scatter(xy[:, 0], xy[:, 1], s=4, color="gray")
    for (px, py), word in zip(xy, words):
        ax.annotate(word, (px, py), fontsize=7)
    ax.set(title=f"word embeddings of the {len(words)} most frequent words, first two principal components "
                 f"({args.layers} x {args.unit} {args.hidden})", xlabel="PC 1", ylabel="PC 2")
    fig.tight_layout()
    fig.savefig(out / "embeddings_pca.png", dpi=100)
    fig, ax = plt.subplots(figsize=(6, 4))
    ax.plot(history["epoch"], history["train"], marker="o", label="training")
    ax.plot(history["epoch"], history["validation"], marker="o", label="validation")
    ax.set(xlabel="epoch", ylabel="cross-entropy per token (nats)", title=f"{args.layers} x {args.unit} {args.hidden}")
    ax.legend()
    fig.tight_layout()
    fig.savefig(out / "wiki_lm_loss.png", dpi=100)
    print(f"\nSaved {out / 'embeddings_pca.png'}, {out / 'wiki_lm_loss.png'} and the model {out / 'wiki_lm.npz'}")
    write_results(out, {
        "unit": args.unit, "layers": args.layers, "hidden": args.hidden, "embedding": args.embedding,
        "dropout": args.dropout, "recurrent_dropout": args.recurrent_dropout, "tie_embeddings": args.tie_embeddings,
        "vocabulary_size": len(vocab),
        "training_tokens": tokens, "history": history, "validation_perplexity": float(np.exp(history["validation"][-1])),
        "analogies": answers, "neighbours": neighbours, "train_seconds": train_time.seconds, "seconds": time.perf_counter() - started,
    })


if __name__ == "__main__":
    main()
