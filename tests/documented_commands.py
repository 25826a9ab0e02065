"""Commands of docs/examples.md that tests/test_examples.py runs itself, with checks of what they report.

tests/test_docs.py runs every other command of the documentation and leaves
these out, instead of running the same example script twice; a test there
checks that each is still a command of docs/examples.md.
"""

EXAMPLES = {
    "parity": "python examples/parity.py --quick",
    "vanishing_gradients": "python examples/vanishing_gradients.py --quick --units elman,gru",
}
