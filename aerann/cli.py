"""The ``aerann`` command: ``demo``, ``generate`` and ``units``.

Exit codes: 0 success, 1 failure (a clear message, no traceback), 2 usage error.
"""

import argparse
import sys
from pathlib import Path


class CommandError(Exception):
    """A failure to report to the user in one line (exit code 1)."""


def _demo(args) -> None:
    from aerann import demo

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


def _generate(args) -> None:
    from aerann import demo

    model_path = Path(args.model)
    vocab_path = Path(args.vocab) if args.vocab else model_path.with_name(demo.VOCABULARY_FILE)
    for words in demo.generate_from_files(model_path, vocab_path, args.count, args.min_length, args.seed):
        print(" ".join(words))


def _units(args) -> None:
    from aerann import units

    sources = units.sources()
    width = max(len(name) for name in sources)
    for name in sorted(sources):
        print(f"{name:<{width}}  {sources[name]}")
    for message in units.errors():
        print(f"warning: {message}", file=sys.stderr)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="aerann",
        description="Recurrent neural networks on Aesara.",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="train the tutorial's RNN language model on the embedded corpus and generate text",
        description=(
            "Train the WildML tutorial's RNNTheano language model on a corpus that ships with "
            "Python (the standard library's help texts), print what the tutorial prints, save "
            "the model and generate sentences. Example: aerann demo --out runs/demo"
        ),
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
    demo.set_defaults(handler=_demo)

    generate = commands.add_parser(
        "generate",
        help="generate sentences from a saved tutorial model",
        description=(
            "Sample sentences from a model saved by 'aerann demo' (the tutorial's npz format) "
            "with the vocabulary saved beside it. Example: aerann generate --model runs/demo/rnn-theano.npz"
        ),
    )
    generate.add_argument("--model", required=True, help="parameter file (npz with U, V, W)")
    generate.add_argument("--vocab", help="vocabulary JSON (default: vocabulary.json beside the model)")
    generate.add_argument("--count", type=int, default=10, help="sentences to generate (default 10)")
    generate.add_argument("--min-length", type=int, default=7, help="fewest words per sentence (default 7)")
    generate.add_argument("--seed", type=int, default=None, help="random seed")
    generate.set_defaults(handler=_generate)

    units_parser = commands.add_parser(
        "units",
        help="list the registered recurrent units and where each comes from",
        description="List every registered recurrent unit, built-in or plugin. Example: aerann units",
    )
    units_parser.set_defaults(handler=_units)
    return parser


def main(argv=None) -> int:
    args = build_parser().parse_args(argv)
    try:
        args.handler(args)
    except (CommandError, ValueError, TypeError, OSError) as error:
        print(f"aerann {args.command}: error: {error}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print(f"aerann {args.command}: interrupted", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
