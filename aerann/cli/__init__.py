"""The ``aerann`` command: train, evaluate, generate, plot, units, bench, theano and demo.

Exit codes: 0 success, 1 failure (one clear line on standard error, no
traceback; ``aerann --traceback ...`` shows it), 2 usage error.
"""

import argparse
import contextlib
import json
import math
import sys
from pathlib import Path


class CommandError(Exception):
    """A failure to report to the user in one line (exit code 1)."""


VOCABULARY_FILE = "vocabulary.json"
LABELS_FILE = "labels.json"

# Defaults of `aerann train`.  The parser's own defaults are None, so that a
# resumed run can tell the options given now from the ones it stored.
TRAIN_DEFAULTS = {
    "task": "lm",
    "label_column": "label",
    "data": None,
    "format": None,
    "corpus": None,
    "sentences": None,
    "max_words": 100,
    "vocab": 2000,
    "unit": "gru",
    "layers": "1",
    "hidden": 64,
    "embed": 32,
    "truncate": -1,
    "dropout": 0.0,
    "recurrent_dropout": 0.0,
    "tie_embeddings": False,
    "epochs": 5,
    "batch_size": 16,
    "optimizer": "rmsprop",
    "lr": 0.002,
    "momentum": 0.9,
    "reg": 0.0,
    "clip": None,
    "schedule": "none",
    "patience": None,
    "restore_best": False,
    "stream": False,
    "bptt": 35,
    "backend": "c",
    "devices": None,
    "coordinator": None,
    "num_processes": None,
    "process_id": None,
    "float32": True,
    "seed": 0,
    "validation": 0.1,
    "checkpoint_every": 100,
    "checkpoint_minutes": 10.0,
    "keep": 3,
    "log_every": 10,
}
# What a resumed run may change without breaking the exact continuation.
# Where an invocation runs, not what it trains; a resumed run takes them from its own command line.
RUNS_ON = ("devices", "coordinator", "num_processes", "process_id")
RESUME_MAY_CHANGE = ("epochs", "checkpoint_every", "checkpoint_minutes", "keep", "log_every", "backend", "devices",
                     "coordinator", "num_processes", "process_id", "lr", "restore_best")


def _device_count(value: str):
    """--devices N or --devices all."""
    if value.strip().lower() == "all":
        return "all"
    try:
        return int(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer or 'all', got {value!r}") from None


def _option(name: str) -> str:
    return "--" + name.replace("_", "-")


def _setting(name: str, value) -> str:
    """An option as the command line spells it, ``--lr 0.1``, and a stored value beside it: the precision is
    ``--float32`` or ``--float64``."""
    if name == "float32":
        return "--float32" if value else "--float64"
    return f"{_option(name)} {value}"


def _stored(name: str, value) -> str:
    return _setting(name, value) if name == "float32" else str(value)


# -- data --------------------------------------------------------------------------------
def _data_format(path: Path, given) -> str:
    if given:
        return given
    return "csv" if path.suffix.lower() == ".csv" else "text"


def read_sentences(data=None, data_format=None, corpus=None) -> list:
    """Tokenised sentences from a file (CSV with a ``body`` column, or plain text) or an embedded corpus."""
    from aerann.data import corpora, text

    if data is not None:
        path = Path(data)
        if path.is_dir():
            raise CommandError(f"{path} is a folder, not a data file")
        if not path.exists():
            raise CommandError(f"no data file at {path}")
        if _data_format(path, data_format) == "csv":
            return text.read_comments_csv(path)
        return text.read_text(path)
    return corpora.default_corpus(corpus or "pydoc")


def read_labelled_csv(path, label_column="label"):
    """(token lists, labels) of a CSV file with a ``body`` column and a label column, one document per row."""
    import csv
    import io as stringio

    from aerann.data import text

    path = Path(path)
    if path.is_dir():
        raise CommandError(f"{path} is a folder, not a data file")
    if not path.exists():
        raise CommandError(f"no data file at {path}")
    content = text.read_utf8(path)
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, min(len(content) + 1, 2**31 - 1)))
    try:
        rows = csv.DictReader(stringio.StringIO(content, newline=""), skipinitialspace=True)
        missing = [c for c in ("body", label_column) if c not in (rows.fieldnames or [])]
        if missing:
            raise CommandError(
                f"{path} has no {' and no '.join(repr(c) for c in missing)} column (columns: {rows.fieldnames or []})"
            )
        documents, labels = [], []
        for row in rows:
            words = text.tokenize_words((row["body"] or "").lower())
            label = (row[label_column] or "").strip()
            if words and label:
                documents.append([text.SENTENCE_START, *words, text.SENTENCE_END])
                labels.append(label)
    except csv.Error as error:
        raise CommandError(f"{path} is not a valid CSV file: {error}") from None
    finally:
        csv.field_size_limit(previous)
    if not documents:
        raise CommandError(f"{path} has no row with both a body and a {label_column!r}")
    return documents, labels


def _layers(options) -> list:
    spec = str(options["layers"]).strip()
    if spec.isdigit():
        count = int(spec)
        if count < 1:
            raise CommandError("--layers must be at least 1")
        return [(options["unit"], options["hidden"])] * count
    layers = []
    for part in spec.split(","):
        name, _, size = part.strip().partition(":")
        if not name or not size.strip().isdigit():
            raise CommandError(f"--layers: expected a count or a list like gru:64,lstm:32, got {spec!r}")
        layers.append((name.strip(), int(size)))
    return layers


@contextlib.contextmanager
def _numerics(float32: bool, backend: str):
    """floatX and the backend for the models a command builds, restored when the command ends (so that
    ``main`` called from Python leaves its caller's settings as they were)."""
    import aesara

    from aerann.backend import compiler

    previous = aesara.config.floatX, compiler.get_backend()
    aesara.config.floatX = "float32" if float32 else "float64"
    compiler.set_backend(backend)
    try:
        yield
    finally:
        aesara.config.floatX = previous[0]
        compiler.set_backend(previous[1])


# -- train -------------------------------------------------------------------------------
def _optimizer_options(options, given) -> dict:
    """The optimizer options of the command line: --momentum for the optimizers with momentum (or when
    given for another, so that the check names the optimizer that has none)."""
    if options["optimizer"] in ("momentum", "nesterov") or "momentum" in given:
        return {"mu": options["momentum"]}
    return {}


def _read_run_arguments(out: Path) -> dict:
    from aerann.training import run

    path = out / run.RUN_FILE
    if not path.is_file():
        raise CommandError(f"there is no run to resume in {out} (no {run.RUN_FILE})")
    try:
        stored = json.loads(path.read_text(encoding="utf-8"))
        arguments = stored["info"]["arguments"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise CommandError(f"{path} was not written by 'aerann train': cannot resume from the command line") from None
    if not isinstance(arguments, dict):
        raise CommandError(f"{path} is malformed")
    return {**TRAIN_DEFAULTS, **arguments}


def _train(args) -> None:
    import numpy as np

    from aerann import units
    from aerann.backend.devices import check as device_count, initialize as initialize_distributed, writes_files
    from aerann.data import files, text
    from aerann.data.validation import dropout_rate
    from aerann.models import LanguageModel, SequenceClassifier
    from aerann.training import run
    from aerann.training import settings as training_settings

    out = Path(args.out)
    given = {k: getattr(args, k) for k in TRAIN_DEFAULTS if getattr(args, k) is not None}
    if given.get("data") is not None:
        given["data"] = str(Path(given["data"]).resolve())
    if args.resume:
        options = _read_run_arguments(out)
        for key, value in given.items():
            if key not in RESUME_MAY_CHANGE and value != options.get(key):
                raise CommandError(
                    f"{_setting(key, value)} differs from the run being resumed ({_stored(key, options.get(key))}): "
                    f"a resumed run keeps its settings (it may change {', '.join(map(_option, RESUME_MAY_CHANGE))})"
                )
        options.update((k, v) for k, v in given.items() if k in RESUME_MAY_CHANGE)
        # where this invocation runs is its own: a run started on 4 devices resumes on 1
        options.update((k, given.get(k)) for k in RUNS_ON)
    else:
        options = {**TRAIN_DEFAULTS, **given}
        if (out / run.RUN_FILE).exists() or run.checkpoints(out):
            raise CommandError(f"{out} already holds a run: continue it with --resume, or choose another --out")
    if options["task"] not in ("lm", "classify"):
        raise CommandError(f"--task must be lm or classify, got {options['task']!r}")
    if options["data"] is not None and options["corpus"] is not None:
        raise CommandError("give either --data or --corpus, not both")
    if not 0 <= options["validation"] < 1:
        raise CommandError(f"--validation must be a fraction in [0, 1), got {options['validation']}")
    for key in ("max_words", "vocab", "hidden", "embed", "epochs", "batch_size", "keep", "log_every"):
        if options[key] < 1:
            raise CommandError(f"{_option(key)} must be positive, got {options[key]}")
    for key, low, inclusive in (("checkpoint_every", 0, True), ("checkpoint_minutes", 0, True)):
        value = options[key]
        if value is not None and not (math.isfinite(value) and (value >= low if inclusive else value > low)):
            raise CommandError(f"{_option(key)} must be {'non-negative' if inclusive else 'positive'}, got {value}")
    for key in ("dropout", "recurrent_dropout"):
        try:
            dropout_rate(options[key], key)
        except ValueError as error:
            raise CommandError(str(error)) from None
    if options["tie_embeddings"] and options["task"] == "classify":
        raise CommandError("--tie-embeddings shares a language model's embedding with its output layer: it does "
                           "not go with --task classify")
    settings = training_settings.check(options["lr"], options["optimizer"], _optimizer_options(options, given),
                                       options["reg"], options["clip"], options["schedule"], None,
                                       options["patience"])
    if options["stream"]:
        if options["task"] == "classify":
            raise CommandError("--stream trains a language model on one token stream: it does not go with "
                               "--task classify")
        if options["bptt"] < 1:
            raise CommandError(f"--bptt must be positive, got {options['bptt']}")
    if (options["patience"] is not None or options["restore_best"]) and options["validation"] == 0:
        what = "patience (early stopping)" if options["patience"] is not None else "restore_best"
        raise CommandError(f"{what} needs validation data to watch (--validation must be above 0)")
    if options["sentences"] is not None and options["sentences"] < 1:
        raise CommandError(f"--sentences must be positive, got {options['sentences']}")
    layers = _layers(options)
    for name, _ in layers:  # an unknown unit is named before the data is read
        units.get(name)
    args.finally_.enter_context(_numerics(options["float32"], options["backend"]))
    processes = [options[key] for key in ("coordinator", "num_processes", "process_id")]
    if any(value is not None for value in processes):
        if any(value is None for value in processes):
            raise CommandError("training in several processes needs all of --coordinator HOST:PORT, "
                               "--num-processes P and --process-id I")
        try:
            initialize_distributed(*processes)
        except (TypeError, ValueError, RuntimeError) as error:
            raise CommandError(str(error).replace("process_id", "--process-id").replace(
                "num_processes", "--num-processes")) from None
    try:
        devices = device_count(options["devices"])
    except (TypeError, ValueError) as error:
        raise CommandError(str(error).replace("devices", "--devices", 1)) from None

    # Everything is read and checked before the run folder is touched.
    classify = options["task"] == "classify"
    if classify:
        if options["data"] is None:
            raise CommandError("--task classify needs --data FILE: a CSV file with 'body' and label columns")
        documents, names = read_labelled_csv(options["data"], options["label_column"])
        items, words = list(zip(documents, names)), [len(d) - 2 for d in documents]
        what = "documents"
    else:
        items = read_sentences(options["data"], options["format"], options["corpus"])
        words, what = [len(s) - 2 for s in items], "sentences"
    source = options["data"] or f"the embedded corpus {options['corpus'] or 'pydoc'!r}"
    kept = [item for item, n in zip(items, words) if n <= options["max_words"]]
    if not kept:
        raise CommandError(
            f"{source}: every one of its {what} is longer than --max-words {options['max_words']} "
            f"(the shortest has {min(words)} words, the longest {max(words)}); raise --max-words"
        )
    if len(kept) < len(items):
        print(f"note: skipped {len(items) - len(kept)} of {len(items)} {what} longer than "
              f"--max-words {options['max_words']}", file=sys.stderr)
    if options["sentences"] is not None:
        kept = kept[: options["sentences"]]
    order = np.random.default_rng(options["seed"]).permutation(len(kept))
    held = int(round(options["validation"] * len(kept)))
    if options["validation"] > 0:
        held = max(held, 1)
        if held >= len(kept):
            raise CommandError(
                f"{source} has only {len(kept)} {what[:-1]}(s): too few to hold out {options['validation']:g} "
                "for validation (pass --validation 0)"
            )
    training = [kept[i] for i in sorted(order[held:])]
    held_out = [kept[i] for i in sorted(order[:held])]
    tokens = [item[0] for item in training] if classify else training
    run_files = {}
    if args.resume:
        vocab = text.Vocabulary.load(out / VOCABULARY_FILE)
    else:
        vocab = text.Vocabulary.build(tokens, options["vocab"])
        run_files[VOCABULARY_FILE] = vocab.save
        if options["vocab"] > len(vocab):
            print(f"note: --vocab {options['vocab']} is more than the {vocab.distinct_words} distinct words of "
                  f"{source}: the vocabulary has {len(vocab)} entries", file=sys.stderr)
    if classify:
        classes = sorted({label for _, label in kept})
        if len(classes) < 2:
            raise CommandError(f"{source}: --task classify needs at least two labels, found {classes}")
        run_files[LABELS_FILE] = lambda path: path.write_text(json.dumps(classes), encoding="utf-8")

        def encode(pairs):
            X = [vocab.encode(document) for document, _ in pairs]
            return X, np.array([classes.index(label) for _, label in pairs], dtype=np.int32)

        X, Y = encode(training)
        validation = encode(held_out) if held_out else None
        model = SequenceClassifier(
            len(classes), layers=layers, vocab_size=len(vocab), embedding_dim=options["embed"],
            truncate_gradient=options["truncate"], seed=options["seed"], dropout=options["dropout"],
            recurrent_dropout=options["recurrent_dropout"],
        )
        shape = f"{len(classes)} labels"
    else:
        X, Y = text.training_data(training, vocab)
        validation = text.training_data(held_out, vocab) if held_out else None
        try:
            model = LanguageModel(
                len(vocab), options["embed"], layers=layers, truncate_gradient=options["truncate"],
                seed=options["seed"], dropout=options["dropout"], recurrent_dropout=options["recurrent_dropout"],
                tie_embeddings=options["tie_embeddings"],
            )
        except ValueError as error:
            raise CommandError(str(error)) from None
        shape = "language model"
    print(f"training on {len(X)} {what} ({sum(map(len, X))} tokens)"
          + (f", validating on {len(validation[0])}" if validation else "")
          + f"; {shape}, vocabulary {len(vocab)}, layers {layers}, {options['optimizer']} lr {options['lr']:g}"
          + (f", a stream in {options['batch_size']} columns of chunks of {options['bptt']} steps"
             if options["stream"] else ""),
          flush=True)
    if args.resume and given.get("epochs") is not None and writes_files():  # later resumes must know the new length
        path = out / run.RUN_FILE
        stored = json.loads(path.read_text(encoding="utf-8"))
        stored["info"]["arguments"].update((k, options[k]) for k in RESUME_MAY_CHANGE)
        files.write_json_atomic(path, stored)
    common = dict(
        out=out,
        model_metadata={"vocabulary": list(vocab.index_to_word)},
        epochs=options["epochs"],
        batch_size=options["batch_size"],
        optimizer=settings.optimizer,
        learning_rate=settings.learning_rate,
        options=dict(settings.options),
        reg=settings.reg,
        clip=settings.clip,
        schedule=settings.schedule,
        patience=settings.patience,
        restore_best=options["restore_best"],
        resume=args.resume,
        checkpoint_every=options["checkpoint_every"],
        checkpoint_minutes=options["checkpoint_minutes"],
        keep=options["keep"],
        log_every=options["log_every"],
        progress=args.progress,
        plot_loss=not args.no_plot,
        run_info={"command": "aerann train", "arguments": options},
        files=run_files or None,
        resume_learning_rate=given.get("lr") if args.resume else None,
        devices=devices,
    )
    try:
        if options["stream"]:
            stream = text.token_stream(training, vocab)
            held = text.token_stream(held_out, vocab) if held_out else None
            result = run.train_stream(model, stream, bptt=options["bptt"], validation=held, **common)
        else:
            result = run.train(model, X, Y, validation=validation, seed=options["seed"], **common)
    except run.Interrupted as interrupted:
        raise CommandError(
            f"interrupted at step {interrupted.step}; saved {interrupted.checkpoint}. "
            f"Continue with: aerann train --out {out} --resume"
        ) from None
    if classify and validation:
        print(f"validation accuracy {model.score(*validation):.4f}")
    print(f"trained {result.steps} steps; the model is in {result.model_path} "
          f"(evaluate it with: aerann evaluate --model {result.model_path} --data FILE)")


# -- evaluate, generate, plot ------------------------------------------------------------------
def _load_model(model_arg, vocab_arg):
    """(model, vocabulary, model path) of a model saved by 'aerann train' (or one of its checkpoints)."""
    from aerann.data import files, text
    from aerann.models import RecurrentModel

    model_path = Path(model_arg)
    if model_path.is_dir():
        model_path = model_path / "model.npz"
    if not model_path.is_file():
        raise CommandError(f"no model file at {model_path}")
    _, metadata = files.load_arrays(model_path)
    model = RecurrentModel.load(model_path)
    folder = model_path.parent.parent if model_path.parent.name == "checkpoints" else model_path.parent
    vocab_path = Path(vocab_arg) if vocab_arg else folder / VOCABULARY_FILE
    if getattr(model, "vocab_size", None) is None:
        raise CommandError(f"{model_path} holds a {type(model).__name__} of real-valued inputs, not of text")
    if not vocab_arg and isinstance(metadata.get("vocabulary"), list):
        vocab = text.Vocabulary(metadata["vocabulary"])  # the model file carries its vocabulary
    elif not vocab_path.is_file():
        raise CommandError(f"no vocabulary file at {vocab_path} (pass --vocab)")
    else:
        vocab = text.Vocabulary.load(vocab_path)
    if len(vocab) != model.vocab_size:
        raise CommandError(f"{model_path} has a vocabulary of {model.vocab_size} words but {vocab_path} has {len(vocab)}")
    return model, vocab, model_path


def _load_language_model(model_arg, vocab_arg):
    from aerann.models import LanguageModel

    model, vocab, model_path = _load_model(model_arg, vocab_arg)
    if not isinstance(model, LanguageModel):
        raise CommandError(f"{model_path} holds a {type(model).__name__}, not a language model: it cannot generate")
    return model, vocab


def _labels(model_path: Path, n_classes: int) -> list:
    folder = model_path.parent.parent if model_path.parent.name == "checkpoints" else model_path.parent
    path = folder / LABELS_FILE
    try:
        labels = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise CommandError(f"no {LABELS_FILE} beside {model_path}: it names the classifier's labels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise CommandError(f"{path} is not a label file: {error}") from None
    if not isinstance(labels, list) or len(labels) != n_classes or not all(isinstance(x, str) for x in labels):
        raise CommandError(f"{path} does not hold the {n_classes} labels of the model")
    return labels


def _evaluate(args) -> None:
    import numpy as np

    from aerann.data import text
    from aerann.models import SequenceClassifier

    if (args.data is None) == (args.corpus is None):
        raise CommandError("give the held-out text as --data FILE or --corpus NAME (one of them)")
    model, vocab, model_path = _load_model(args.model, args.vocab)
    if isinstance(model, SequenceClassifier):
        labels = _labels(model_path, model.n_classes)
        if args.data is None:
            raise CommandError("a classifier is evaluated on --data FILE.csv with 'body' and label columns")
        documents, names = read_labelled_csv(args.data, args.label_column)
        unknown = sorted(set(names) - set(labels))
        if unknown:
            raise CommandError(f"{args.data} has labels the model does not know: {unknown[:5]} (it knows {labels})")
        X = [vocab.encode(d) for d in documents]
        Y = np.array([labels.index(n) for n in names], dtype=np.int32)
        loss = model.loss(X, Y)
        print(f"{len(X)} documents: loss {loss:.4f} nats per document, accuracy {model.score(X, Y):.4f}")
        return
    sentences = read_sentences(args.data, args.format, args.corpus)
    X, Y = text.training_data(sentences, vocab)
    loss = model.loss(X, Y)
    tokens = sum(len(y) for y in Y)
    unknown = sum(int((y == vocab.unknown_index).sum()) for y in Y)
    print(f"{len(X)} sentences, {tokens} tokens ({unknown} unknown): "
          f"loss {loss:.4f} nats per token, perplexity {math.exp(min(loss, 700)):.2f}")


def _generate(args) -> None:
    import warnings

    import numpy as np

    from aerann.data import files
    from aerann.tutorial import demo
    from aerann.tutorial.generate import beam_search, check_sampling, generate_sentence

    if args.count < 1:
        raise CommandError("--count must be positive")
    check_sampling(args.temperature, args.top_k, args.top_p)  # before the model is loaded
    if args.beam is not None and args.beam < 1:
        raise CommandError(f"--beam must be at least 1, got {args.beam}")
    model_path = Path(args.model)
    characters = files.load_arrays(model_path)[1].get("characters") if files.is_model_file(model_path) else None
    if characters is not None:
        _generate_characters(args, model_path, characters)
        return
    if model_path.is_dir() or files.is_model_file(model_path):
        model, vocab = _load_language_model(model_path, args.vocab)
    else:
        vocab_path = Path(args.vocab) if args.vocab else model_path.with_name(demo.VOCABULARY_FILE)
        model, vocab = demo.model_from_files(model_path, vocab_path)
    with warnings.catch_warnings(record=True) as notes:
        warnings.simplefilter("always")
        if args.beam is not None:
            best = beam_search(model, vocab, prime=args.prime, beam_width=args.beam, min_length=args.min_length)
            lines = [f"{log_p:9.3f}  {' '.join(words)}" for words, log_p in best[: args.count]]
        else:
            rng = np.random.default_rng(args.seed)
            lines = [" ".join(generate_sentence(model, vocab, min_length=args.min_length, rng=rng,
                                                temperature=args.temperature, top_k=args.top_k, top_p=args.top_p,
                                                prime=args.prime))
                     for _ in range(args.count)]
    for note in {str(n.message) for n in notes}:
        print(note, file=sys.stderr)
    print("\n".join(lines))


def _generate_characters(args, model_path, characters) -> None:
    """``aerann generate`` for a character-level model (a model file that lists its characters)."""
    import numpy as np

    from aerann.models import LanguageModel
    from aerann.tutorial.generate import generate_characters

    if args.beam is not None:
        raise CommandError(f"--beam searches for the likeliest sentences, and {model_path} is a character-level "
                           "model, whose text has none")
    if args.length < 1:
        raise CommandError(f"--length must be positive, got {args.length}")
    model = LanguageModel.load(model_path)
    rng = np.random.default_rng(args.seed)
    for _ in range(args.count):
        try:
            print(generate_characters(model, characters, args.length, args.prime, rng, args.temperature, args.top_k,
                                      args.top_p))
        except ValueError as error:
            raise CommandError(str(error)) from None


def _plot(args) -> None:
    from aerann.training import run

    folder = Path(args.run)
    if not folder.is_dir():
        raise CommandError(f"no run folder at {folder}")
    print(run.plot(folder, args.output))


# -- demo, units, bench --------------------------------------------------------------------
def _demo(args) -> None:
    from aerann.tutorial import demo

    demo.run(
        out=Path(args.out),
        corpus=args.corpus,
        vocabulary_size=args.vocab,
        hidden_dim=args.hidden,
        sentences=args.sentences,
        max_words=args.max_words,
        nepoch=args.epochs,
        learning_rate=args.lr,
        bptt_truncate=args.bptt_truncate,
        seed=args.seed,
    )


def _units(args) -> int:
    from aerann import units

    if args.check is not None:
        return _check_unit(args)
    if args.jax or args.examples is not None or args.option:
        raise CommandError("--jax, --examples and --option go with --check NAME")
    sources = units.sources()
    width = max(len(name) for name in sources)
    for name in sorted(sources):
        print(f"{name:<{width}}  {sources[name]}")
    for message in units.errors():
        print(f"warning: {message}", file=sys.stderr)
    return 0


def _check_unit(args) -> int:
    """Certify one unit (aerann.testing) with a progress bar; print the report; 1 when a property fails."""
    from tqdm import tqdm

    from aerann import testing

    if args.examples is not None and args.examples < 1:
        raise CommandError(f"--examples must be positive, got {args.examples}")
    options = {}
    for option in args.option:
        key, equals, value = option.partition("=")
        if not equals or not key.isidentifier():
            raise CommandError(f"--option takes NAME=VALUE (a unit option, the value as a Python literal), got "
                               f"{option!r}")
        options[key] = _literal(value)
    progress = args.progress if args.progress is not None else sys.stderr.isatty()
    examples = testing.DEFAULT_EXAMPLES if args.examples is None else args.examples
    with tqdm(total=len(testing.PROPERTIES), desc=f"certifying {args.check}", unit="property",
              disable=not progress, leave=False) as bar:
        def advance(property_id):
            if bar.n or property_id != testing.PROPERTY_IDS[0]:
                bar.update(1)
            bar.set_postfix_str(property_id)

        certificate = testing.certify(args.check, examples=examples, jax=args.jax, options=options,
                                      progress=advance)
    print(certificate.table())
    return 0 if certificate.passed else 1


def _literal(text):
    """A Python literal (a number, True, 'none', ...), or the text itself when it is not one."""
    import ast

    try:
        return ast.literal_eval(text)
    except (ValueError, SyntaxError):
        return text


def _bench(args) -> int:
    try:
        from aerann.cli import bench
    except ModuleNotFoundError as error:
        if error.name != "aerann.cli.bench":
            raise
        raise CommandError("the benchmark is not available in this installation (no aerann.cli.bench module)") from None
    return bench.main(args.bench_args)


def _theano(args) -> int:
    from aerann.theano import runner

    script, *script_args = args.script_and_args
    return runner.run_command(script, script_args, force=args.force, prog="aerann theano")


# -- the parser ----------------------------------------------------------------------------
def _subcommand(commands, name, help, description, example, handler):
    parser = commands.add_parser(
        name, help=help, description=description, epilog=f"example:\n  {example}",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.set_defaults(handler=handler)
    return parser


def _add_model_arguments(command) -> None:
    """--model and --vocab, as evaluate and generate read them (see _load_model)."""
    command.add_argument("--model", required=True, help="model.npz, a checkpoint, or the run folder")
    command.add_argument(
        "--vocab", help="vocabulary JSON (default: the model file's own, else vocabulary.json beside the model)"
    )


def build_parser() -> argparse.ArgumentParser:
    from aerann.training import optim, schedules

    parser = argparse.ArgumentParser(
        prog="aerann",
        description="Recurrent neural networks on Aesara.",
        epilog="example:\n  aerann train --data comments.csv --out runs/lm\n\n"
        "'aerann COMMAND --help' describes each command.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--traceback", action="store_true", help="show the full traceback when a command fails")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    train = _subcommand(
        commands, "train", "train a language model on your text, with checkpoints you can resume",
        "Train a language model (an embedding, a stack of recurrent units, a softmax over the vocabulary) "
        "on a CSV file with a 'body' column, a plain text file or an embedded corpus. The run folder --out "
        "gets the metrics log (metrics.jsonl), checkpoints, the model (model.npz), its vocabulary and the "
        "loss plot (loss.png). Ctrl-C saves a checkpoint; --resume continues exactly where the run stopped. "
        "--task classify trains a document classifier on a CSV file with 'body' and label columns instead.",
        "aerann train --data comments.csv --unit lstm --layers 2 --hidden 64 --epochs 10 --out runs/lm\n"
        "  aerann train --out runs/lm --resume",
        _train,
    )
    train.add_argument("--task", choices=("lm", "classify"),
                       help="lm: a language model (default); classify: a label per document (SequenceClassifier)")
    data = train.add_argument_group("data")
    data.add_argument("--data", help="training text: a CSV file with a 'body' column or a plain UTF-8 text file")
    data.add_argument("--format", choices=("csv", "text"), help="the --data format (default: csv for *.csv, else text)")
    data.add_argument("--corpus", help="an embedded corpus instead of --data: pydoc (default) or agreement")
    data.add_argument("--label-column", help="with --task classify: the CSV column of the labels (default label)")
    data.add_argument("--sentences", type=int, help="use at most this many sentences (documents, with classify)")
    data.add_argument("--max-words", type=int, help="skip sentences longer than this (default 100)")
    data.add_argument("--vocab", type=int, help="vocabulary size, UNKNOWN_TOKEN included (default 2000)")
    data.add_argument("--validation", type=float, help="fraction of sentences held out for validation (default 0.1)")
    model = train.add_argument_group("model")
    model.add_argument("--unit", help="recurrent unit of every layer (default gru; 'aerann units' lists them)")
    model.add_argument("--layers", help="number of layers (default 1), or a list of unit:size like gru:64,lstm:32")
    model.add_argument("--hidden", type=int, help="units per layer (default 64)")
    model.add_argument("--embed", type=int, help="word embedding size (default 32)")
    model.add_argument("--truncate", type=int, help="backpropagate through the last N steps only (default -1: all)")
    model.add_argument("--dropout", type=float,
                       help="drop this fraction of the embedding's outputs and of each layer's outputs into the "
                            "next, in training (default 0)")
    model.add_argument("--recurrent-dropout", type=float,
                       help="drop this fraction of each layer's state where it enters the recurrent products, one "
                            "mask per sequence (variational dropout; default 0)")
    model.add_argument("--tie-embeddings", action="store_const", const=True,
                       help="use the embedding's transpose as the output weights (needs the top layer's size to "
                            "equal --embed)")
    fitting = train.add_argument_group("training")
    fitting.add_argument("--epochs", type=int, help="passes over the training sentences (default 5)")
    fitting.add_argument("--batch-size", type=int, help="sentences per minibatch (default 16)")
    fitting.add_argument("--optimizer", choices=optim.OPTIMIZERS, help="default rmsprop")
    fitting.add_argument("--lr", type=float, help="learning rate (default 0.002)")
    fitting.add_argument("--momentum", type=float, help="mu of --optimizer momentum or nesterov (default 0.9)")
    fitting.add_argument("--reg", type=float, help="L2 weight decay (default 0)")
    fitting.add_argument("--clip", type=float, help="clip the gradient's global norm to this (default: no clipping)")
    fitting.add_argument("--schedule", choices=schedules.SCHEDULES,
                         help="learning-rate schedule after each epoch (default none; plateau divides by 4 "
                              "when the validation loss does not improve)")
    fitting.add_argument("--patience", type=int,
                         help="stop after N epochs without a lower validation loss (default: never)")
    fitting.add_argument("--restore-best", action="store_const", const=True,
                         help="end with the best validation epoch's parameters in model.npz (best.npz has "
                              "them either way)")
    fitting.add_argument("--stream", action="store_const", const=True,
                         help="train on the sentences as one token stream, in --batch-size columns, with the "
                              "states carried from chunk to chunk (a language model only)")
    fitting.add_argument("--bptt", type=int, help="with --stream: steps per chunk (default 35)")
    fitting.add_argument("--seed", type=int, help="random seed of the initial weights, split and order (default 0)")
    fitting.add_argument("--backend", choices=("c", "jax"), help="Aesara's C backend (default) or JAX (GPU)")
    fitting.add_argument("--devices", type=_device_count,
                         help="with --backend jax: split every minibatch over N devices, or 'all' (default: one)")
    fitting.add_argument("--coordinator", metavar="HOST:PORT",
                         help="train as one of several processes (one per host, say): the address process 0 "
                              "serves at and the others connect to; with --num-processes and --process-id")
    fitting.add_argument("--num-processes", type=int, help="with --coordinator: how many processes train together")
    fitting.add_argument("--process-id", type=int,
                         help="with --coordinator: this process's number, 0 to P-1 (process 0 writes the run folder)")
    precision = fitting.add_mutually_exclusive_group()
    precision.add_argument("--float32", action="store_const", const=True,
                           help="compute and store the parameters in float32 (the default)")
    precision.add_argument("--float64", dest="float32", action="store_const", const=False,
                           help="compute in float64 instead")
    run_group = train.add_argument_group("run folder")
    run_group.add_argument("--out", default="runs/train", help="run folder (default runs/train)")
    run_group.add_argument("--resume", action="store_true", help="continue the run in --out from its last checkpoint")
    run_group.add_argument("--checkpoint-every", type=int, help="checkpoint every N steps (default 100; 0: off)")
    run_group.add_argument("--checkpoint-minutes", type=float, help="and every M minutes (default 10; 0: off)")
    run_group.add_argument("--keep", type=int, help="keep the last K checkpoints (default 3)")
    run_group.add_argument("--log-every", type=int, help="log the training loss every N steps (default 10)")
    run_group.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                           help="show progress bars (default: when standard error is a terminal)")
    run_group.add_argument("--no-plot", action="store_true", help="do not draw loss.png at the end")

    evaluate = _subcommand(
        commands, "evaluate", "loss and perplexity of a trained language model on held-out text",
        "Compute the cross-entropy per token (nats) and the perplexity of a model saved by 'aerann train' "
        "on a text or CSV file, with the vocabulary saved beside the model. --model may be the run folder.",
        "aerann evaluate --model runs/lm --data held-out.txt",
        _evaluate,
    )
    _add_model_arguments(evaluate)
    evaluate.add_argument("--data", help="held-out text: CSV with a 'body' column or plain text")
    evaluate.add_argument("--format", choices=("csv", "text"), help="the --data format (default: by extension)")
    evaluate.add_argument("--corpus", help="an embedded corpus instead of --data")
    evaluate.add_argument("--label-column", default="label", help="a classifier's label column (default label)")

    generate = _subcommand(
        commands, "generate", "generate sentences from a trained model",
        "Sample sentences from a model saved by 'aerann train' (model.npz, or the run folder) or by "
        "'aerann demo' (the tutorial's npz format), with the vocabulary saved beside it; --temperature, "
        "--top-k and --top-p reshape the distribution each word is drawn from, --prime gives the first "
        "words, and --beam N prints the likeliest sentences found by a beam search instead. A character-level "
        "model (examples/char_rnn.py saves one) prints --count samples of --length characters after --prime.",
        "aerann generate --model runs/demo/rnn-theano.npz --count 5 --temperature 0.8 --prime 'the'",
        _generate,
    )
    _add_model_arguments(generate)
    generate.add_argument("--count", type=int, default=10, help="sentences to generate (default 10)")
    generate.add_argument("--min-length", type=int, default=7, help="fewest words per sentence (default 7)")
    generate.add_argument("--seed", type=int, default=None, help="random seed")
    generate.add_argument("--temperature", type=float, default=1.0,
                          help="above 1 flatter, below 1 sharper than the model's distribution (default 1)")
    generate.add_argument("--top-k", type=int, help="sample among the K likeliest words only")
    generate.add_argument("--top-p", type=float, help="sample among the likeliest words that make up P of the mass")
    generate.add_argument("--prime", help="begin every sentence with these words (a character-level model: "
                                           "these characters)")
    generate.add_argument("--length", type=int, default=200,
                          help="characters to sample after --prime from a character-level model (default 200)")
    generate.add_argument("--beam", type=int,
                          help="beam search of width N instead of sampling: the likeliest sentences with "
                               "their log-probabilities")

    plot = _subcommand(
        commands, "plot", "draw a run's training and validation loss to a PNG",
        "Read the metrics log of a run folder (also while it is still training) and draw the training "
        "and validation loss to RUN/loss.png or --output.",
        "aerann plot runs/lm",
        _plot,
    )
    plot.add_argument("run", help="the run folder (the --out of 'aerann train')")
    plot.add_argument("--output", help="PNG file to write (default RUN/loss.png)")

    units_parser = _subcommand(
        commands, "units", "list the registered recurrent units, or certify one (--check)",
        "List every registered recurrent unit, built-in or from a plugin, and warn about plugins that "
        "failed to load. --check NAME certifies a unit instead (aerann.testing): its gradients against its "
        "NumPy reference and finite differences, padding, masks, truncation, final states, stacking with "
        "every built-in unit, training, saving and float32, on examples hypothesis draws; it prints a "
        "table of the properties and the worst relative error per parameter, and exits 1 when one fails.",
        "aerann units\n  aerann units --check gru --examples 50 --jax",
        _units,
    )
    units_parser.add_argument("--check", metavar="NAME", help="certify the unit NAME")
    units_parser.add_argument("--examples", type=int,
                              help="with --check: examples per property (default 20)")
    units_parser.add_argument("--jax", action="store_true",
                              help="with --check: also check the JAX backend against the C backend")
    units_parser.add_argument("--option", action="append", default=[], metavar="NAME=VALUE",
                              help="with --check: a unit option, e.g. --option peepholes=none (repeatable)")
    units_parser.add_argument("--progress", action=argparse.BooleanOptionalAction, default=None,
                              help="show a progress bar (default: when standard error is a terminal)")

    bench = _subcommand(
        commands, "bench", "time the CPU benchmark (aerann against the tutorials' code)",
        "Run the CPU benchmark (benchmarks/cpu.py) and print its table; arguments after 'bench' are "
        "passed to it ('aerann bench -- --help' shows them).",
        "aerann bench --quick",
        _bench,
    )
    del bench  # its arguments are the benchmark's own: see parse_arguments

    theano = _subcommand(
        commands, "theano", "run a script written for Theano on aerann ('import theano' is aerann.theano)",
        "Run a Python 3 script written against Theano 1.0 (the classic RNN tutorials) with 'import theano' "
        "resolved to aerann.theano, Theano's API over Aesara, compiled for aerann's backend. The arguments "
        "after the script are its own (sys.argv); docs/theano.md lists what is supported.",
        "aerann theano rnn_theano.py --epochs 2",
        _theano,
    )
    theano.add_argument("--force", action="store_true", help="use aerann.theano even where a real Theano is installed")
    theano.add_argument("script_and_args", nargs=argparse.REMAINDER, metavar="SCRIPT [ARGS]",
                        help="the script and its arguments, passed to it untouched")

    demo = _subcommand(
        commands, "demo", "train the tutorial's RNN language model on the embedded corpus and generate text",
        "Train the WildML tutorial's RNNTheano language model on a corpus that ships with Python (the "
        "standard library's help texts), print what the tutorial prints, save the model and generate sentences.",
        "aerann demo --out runs/demo",
        _demo,
    )
    demo.add_argument("--out", default="runs/demo", help="folder for the model and vocabulary (default runs/demo)")
    demo.add_argument("--corpus", default="pydoc", help="embedded corpus name (default pydoc)")
    demo.add_argument("--vocab", type=int, default=2000, help="vocabulary size (default 2000)")
    demo.add_argument("--hidden", type=int, default=50, help="hidden units (default 50)")
    demo.add_argument("--sentences", type=int, default=5000, help="most training sentences (default 5000)")
    demo.add_argument("--max-words", type=int, default=30, help="longest sentence kept, in words (default 30)")
    demo.add_argument("--epochs", type=int, default=10, help="epochs of SGD (default 10)")
    demo.add_argument("--lr", type=float, default=0.005, help="learning rate (default 0.005, the tutorial's)")
    demo.add_argument(
        "--bptt-truncate", type=int, default=1000,
        help="BPTT truncation (default 1000, i.e. full BPTT; the tutorial's 4 makes RNNTheano learn from sentence ends only)",
    )
    demo.add_argument("--seed", type=int, default=10, help="random seed (default 10, the tutorial's)")
    return parser


def _describe(error: BaseException) -> str:
    """One line for an error."""
    if isinstance(error, OSError) and error.strerror and error.filename:
        return f"{error.filename}: {error.strerror}"
    if isinstance(error, MemoryError):
        return "out of memory"
    text = str(error).strip().splitlines()
    return text[0] if text else type(error).__name__


def parse_arguments(argv=None):
    """The parsed command line; arguments after 'bench' are left for the benchmark's own parser."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.command == "bench":
        args.bench_args = extra[1:] if extra[:1] == ["--"] else extra
    elif args.command == "theano" and not extra:
        args.script_and_args = args.script_and_args[1:] if args.script_and_args[:1] == ["--"] else args.script_and_args
        if not args.script_and_args:
            parser.error("theano: the script to run is missing (aerann theano SCRIPT [ARGS])")
    elif extra:
        parser.error(f"unrecognized arguments: {' '.join(extra)}")
    return args


def main(argv=None) -> int:
    try:
        args = parse_arguments(argv)
    except SystemExit as exit_:  # usage errors (2) and --help (0)
        return exit_.code if isinstance(exit_.code, int) else 2
    from aerann.training import run

    try:
        with contextlib.ExitStack() as args.finally_:  # what a command changes for its duration
            code = args.handler(args)
    except (CommandError, ValueError, TypeError, OSError, run.TrainingError, FloatingPointError, MemoryError) as error:
        if args.traceback:
            raise
        print(f"aerann {args.command}: error: {_describe(error)}", file=sys.stderr)
        return 1
    except ImportError as error:
        if args.traceback:
            raise
        print(f"aerann {args.command}: error: missing module {error.name or ''}: {_describe(error)}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"aerann {args.command}: interrupted", file=sys.stderr)
        return 1
    except Exception as error:  # a bug: still one line, unless asked for the traceback
        if args.traceback:
            raise
        print(
            f"aerann {args.command}: internal error ({type(error).__name__}): {_describe(error)} "
            "(run 'aerann --traceback ...' for details)",
            file=sys.stderr,
        )
        return 1
    return code if isinstance(code, int) else 0
