"""The book's poetry experiments: generating four-line poems, and telling two authors' lines apart.

1. A word-embedding Elman language model with relu units (the book's
   "simple RNN" on Robert Frost) learns the lines of a text file of poems
   (``--poems``: one verse per line), then writes four-line poems by sampling
   one line after another, word by word, from SENTENCE_START to SENTENCE_END.
2. The same with the rated unit (an Elman candidate mixed in by a learned rate).
3. A SequenceClassifier reads a line and says which of two authors wrote it
   (``--author-a``, ``--author-b``: one line per verse); the accuracy is
   measured on held-out lines.  The book fed the classifier the lines'
   part-of-speech tags from NLTK's tagger, whose model must be downloaded;
   nothing is downloaded here, so the classifier reads the lines' words
   themselves (lower-cased NLTK tokens, the ``--classifier-vocab`` most common
   of them, the rest UNKNOWN_TOKEN), through a learned embedding.

No poems ship with Python, so by default the "poems" are the short sentences
of Python's help texts (aerann.data.corpora, one sentence a line), and the two
"authors" are two parts of those texts: the chapters on statements and
execution (if, for, try, import, ...) and the chapters on built-in types and
special methods (str, list, dict, __add__, ...).

    python examples/poetry.py
    python examples/poetry.py --poems robert_frost.txt --author-a robert_frost.txt --author-b edgar_allan_poe.txt
    python examples/poetry.py --quick
"""

import time
from pathlib import Path

import numpy as np
from _common import Timer, load_lines, out_dir, parser, pyplot, write_results

import aerann
from aerann.data import corpora
from aerann.data.text import SENTENCE_END, SENTENCE_START, tokenize_documents, tokenize_words, training_data, Vocabulary

# Help topics of each default "author" (pydoc_data.topics keys, or prefixes ending in "*").
STATEMENTS = ("assert", "assignment", "async", "augassign", "await", "break", "class", "compound", "continue",
              "del", "dynamic-features", "else", "exceptions", "execmodel", "for", "function", "global", "if",
              "import", "lambda", "naming", "nonlocal", "pass", "raise", "return", "try", "while", "with", "yield")
TYPES = ("bltin-*", "booleans", "callable-types", "context-managers", "customization", "dict", "floating",
         "imaginary", "integers", "lists", "numbers", "numeric-types", "objects", "sequence-types", "specialattrs",
         "specialnames", "string-methods", "strings", "truth", "types*")


def _topic_keys(patterns, keys):
    return [k for k in keys if any(k == p or (p.endswith("*") and k.startswith(p[:-1])) for p in patterns)]


def pydoc_author(patterns):
    """Tokenised sentences (wrapped in start/end tokens) of the help topics matching ``patterns``."""
    from pydoc_data.topics import topics

    paragraphs = [p for key in _topic_keys(patterns, sorted(topics)) for p in corpora.prose_paragraphs(topics[key])]
    return tokenize_documents(paragraphs)


def read_lines(path):
    """One verse per line, tokenised and wrapped in start/end tokens."""
    return [[SENTENCE_START, *words, SENTENCE_END] for words in (tokenize_words(line.lower()) for line in load_lines(path)) if words]


def train_lm(unit, lines, vocab, args, label):
    """A LanguageModel with one relu layer of ``unit`` on ``lines``; returns (model, per-epoch loss)."""
    X, Y = training_data(lines, vocab)
    model = aerann.LanguageModel(len(vocab), args.embedding, layers=[(unit, args.hidden, {"activation": "relu"})],
                                 seed=args.seed)
    print(f"\n{label}: embedding {args.embedding}, {unit} layer of {args.hidden} relu units, "
          f"{len(X)} lines, RMSprop lr {args.lr}, {args.epochs} epochs")
    with Timer() as t:
        losses = model.fit(X, Y, epochs=args.epochs, learning_rate=args.lr, batch_size=args.batch_size,
                           optimizer="rmsprop", clip=args.clip, seed=args.seed, verbose=True)
    print(f"({t.seconds:.0f} s)")
    return model, losses


def poem(model, vocab, rng, lines=4, max_words=15):
    """Four lines sampled from ``model`` (no UNKNOWN_TOKEN), each from SENTENCE_START to SENTENCE_END."""
    return [" ".join(aerann.generate_sentence(model, vocab, min_length=2, max_length=max_words, rng=rng))
            for _ in range(lines)]


def balanced_split(a, b, rng, validation_share):
    """Equal numbers of lines of both authors, shuffled, split into training and validation sets."""
    n = min(len(a), len(b))
    lines = [a[i] for i in rng.permutation(len(a))[:n]] + [b[i] for i in rng.permutation(len(b))[:n]]
    labels = np.array([0] * n + [1] * n, dtype=np.int32)
    order = rng.permutation(2 * n)
    held = max(2, int(round(validation_share * 2 * n)))
    val, train = order[:held], order[held:]
    return [lines[i] for i in train], labels[train], [lines[i] for i in val], labels[val]


def main(argv=None):
    ap = parser(__doc__.split("\n")[0], "poetry")
    ap.add_argument("--poems", type=Path, help="text file of poems, one verse per line (default: Python's help texts)")
    ap.add_argument("--author-a", type=Path, help="lines of the first author (one per line)")
    ap.add_argument("--author-b", type=Path, help="lines of the second author")
    ap.add_argument("--max-words", type=int, default=12, help="longest line kept from the default text")
    ap.add_argument("--vocab", type=int, default=3000, help="vocabulary of the language models")
    ap.add_argument("--embedding", type=int, default=30)
    ap.add_argument("--hidden", type=int, default=30)
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--lr", type=float, default=0.003, help="RMSprop learning rate")
    ap.add_argument("--clip", type=float, default=5.0, help="maximum gradient norm")
    ap.add_argument("--batch-size", type=int, default=16)
    ap.add_argument("--classifier-unit", default="elman", help="registered unit of the author classifier")
    ap.add_argument("--classifier-vocab", type=int, default=2000)
    ap.add_argument("--classifier-epochs", type=int, default=10)
    ap.add_argument("--poems-per-model", type=int, default=2)
    args = ap.parse_args(argv)
    if (args.author_a is None) != (args.author_b is None):
        ap.error("give both --author-a and --author-b, or neither")
    if args.quick:
        args.embedding, args.hidden, args.epochs, args.classifier_epochs = 8, 8, 2, 2
        args.vocab, args.classifier_vocab = min(args.vocab, 300), min(args.classifier_vocab, 300)
    out = out_dir(args.out)
    started = time.perf_counter()
    rng = np.random.default_rng(args.seed)
    results = {}

    # --- 1 and 2: language models and poems ------------------------------------------------------
    if args.poems:
        lines, source = read_lines(args.poems), str(args.poems)
    else:
        lines = [s for s in corpora.default_corpus("pydoc") if 4 <= len(s) - 2 <= args.max_words]
        source = f"the sentences of 4 to {args.max_words} words of Python's help texts"
    if args.quick:
        lines = lines[:300]
    vocab = Vocabulary.build(lines, args.vocab)
    print(f"Poems: {len(lines)} lines from {source}; vocabulary {len(vocab)} of {vocab.distinct_words} words.")
    for unit in ("elman", "rated"):
        model, losses = train_lm(unit, lines, vocab, args, f"Language model ({unit})")
        poems = [poem(model, vocab, rng) for _ in range(args.poems_per_model)]
        for verses in poems:
            print("\n" + "\n".join("    " + v for v in verses))
        results[unit] = {"losses": losses, "poems": poems}

    # --- 3: which author wrote the line? ---------------------------------------------------------
    if args.author_a:
        a, b = read_lines(args.author_a), read_lines(args.author_b)
        names = [args.author_a.stem, args.author_b.stem]
    else:
        a, b = pydoc_author(STATEMENTS), pydoc_author(TYPES)
        names = ["statements chapters", "types chapters"]
    if args.quick:
        a, b = a[:150], b[:150]
    train_x, train_y, val_x, val_y = balanced_split(a, b, rng, 0.2)
    cvocab = Vocabulary.build(train_x, args.classifier_vocab)
    encode = [cvocab.encode(s[1:-1] or s) for s in train_x], [cvocab.encode(s[1:-1] or s) for s in val_x]
    classifier = aerann.SequenceClassifier(2, layers=[(args.classifier_unit, args.hidden)], vocab_size=len(cvocab),
                                           embedding_dim=args.embedding, seed=args.seed)
    print(f"\nAuthor classifier: '{names[0]}' ({len(a)} lines) against '{names[1]}' ({len(b)} lines), "
          f"{len(train_x)} training and {len(val_x)} validation lines (half of each author); input: the lines' words "
          f"(vocabulary {len(cvocab)}), not part-of-speech tags, as NLTK's tagger data cannot be downloaded here.")
    history = {"epoch": [], "loss": [], "train_accuracy": [], "validation_accuracy": []}
    for epoch in range(1, args.classifier_epochs + 1):
        loss = classifier.fit(encode[0], train_y, epochs=1, learning_rate=args.lr, batch_size=args.batch_size,
                              optimizer="rmsprop", clip=args.clip, seed=args.seed + epoch)[0]
        history["epoch"].append(epoch)
        history["loss"].append(loss)
        history["train_accuracy"].append(classifier.score(encode[0], train_y))
        history["validation_accuracy"].append(classifier.score(encode[1], val_y))
        print(f"  epoch {epoch}: loss {loss:.4f}, training accuracy {history['train_accuracy'][-1]:.3f}, "
              f"validation accuracy {history['validation_accuracy'][-1]:.3f}", flush=True)
    results["classifier"] = {"authors": names, "history": history, "validation_accuracy": history["validation_accuracy"][-1],
                             "train_lines": len(train_x), "validation_lines": len(val_x), "input": "words"}

    plt = pyplot()
    fig, (left, right) = plt.subplots(1, 2, figsize=(10, 4))
    for unit in ("elman", "rated"):
        left.plot(range(1, args.epochs + 1), results[unit]["losses"], marker="o", label=f"{unit} (relu)")
    left.set(xlabel="epoch", ylabel="cross-entropy per word (nats)", title="language models of the lines")
    left.legend()
    right.plot(history["epoch"], history["train_accuracy"], marker="o", label="training")
    right.plot(history["epoch"], history["validation_accuracy"], marker="o", label="validation")
    right.axhline(0.5, color="gray", linestyle=":", label="chance")
    right.set(xlabel="epoch", ylabel="accuracy", title="which author wrote the line?")
    right.legend()
    fig.tight_layout()
    fig.savefig(out / "poetry.png", dpi=100)
    print(f"\nSaved {out / 'poetry.png'}")
    results["seconds"] = time.perf_counter() - started
    write_results(out, results)


if __name__ == "__main__":
    main()
