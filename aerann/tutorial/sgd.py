"""The tutorial's training loop: SGD one sentence at a time, halving the rate when the loss rises."""

import sys
from datetime import datetime

from tqdm import tqdm

from aerann.data.validation import check_dataset, finite_float, positive_int


def train_with_sgd(
    model,
    X_train,
    y_train,
    learning_rate=0.005,
    nepoch=1,
    evaluate_loss_after=5,
    callback=None,
    progress=None,
):
    """Train ``model`` (RNNNumpy or RNNTheano) with the tutorial's SGD loop.

    Before every ``evaluate_loss_after``-th epoch (epochs 0, k, 2k, ...) the
    per-word loss on the training set is computed, printed in the tutorial's
    words and recorded; when it went up since the previous evaluation the
    learning rate is halved.  One more evaluation follows the last epoch, so
    the result always ends with the trained model's loss (the tutorial's loop
    stops without it).  Each epoch then runs ``model.sgd_step`` on every
    sentence in order.

    ``callback(model, num_examples_seen, loss)``, if given, is called after
    each evaluation (after any halving), e.g. to save the parameters as the
    tutorial does there.  ``progress`` shows a tqdm bar per epoch on standard
    error: True or False, or None (default) for "when standard error is a
    terminal".  Returns the list of ``(num_examples_seen, loss)`` pairs.
    """
    X_train, y_train = check_dataset(X_train, y_train, model.word_dim)
    nepoch = positive_int(nepoch, "nepoch")
    evaluate_loss_after = positive_int(evaluate_loss_after, "evaluate_loss_after")
    learning_rate = finite_float(learning_rate, "learning_rate")
    if learning_rate <= 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if callback is not None and not callable(callback):
        raise TypeError(f"callback must be callable, got {callback!r}")
    if progress is None:
        progress = sys.stderr.isatty()
    losses = []
    num_examples_seen = 0

    def evaluate(epoch):
        nonlocal learning_rate
        loss = float(model.calculate_loss(X_train, y_train))
        losses.append((num_examples_seen, loss))
        now = datetime.now().strftime("%Y-%m-%d %H:%M:%S")
        print(f"{now}: Loss after num_examples_seen={num_examples_seen} epoch={epoch}: {loss:f}", flush=True)
        if len(losses) > 1 and losses[-1][1] > losses[-2][1]:
            learning_rate = learning_rate * 0.5
            print(f"Setting learning rate to {learning_rate:f}", flush=True)
        if callback is not None:
            callback(model, num_examples_seen, loss)

    for epoch in range(nepoch):
        if epoch % evaluate_loss_after == 0:
            evaluate(epoch)
        with tqdm(
            total=len(y_train),
            desc=f"epoch {epoch + 1}/{nepoch}",
            unit="sentence",
            disable=not progress,
            leave=False,
        ) as bar:
            for x, y in zip(X_train, y_train):
                model.sgd_step(x, y, learning_rate)
                num_examples_seen += 1
                bar.update()
    evaluate(nepoch)
    return losses
