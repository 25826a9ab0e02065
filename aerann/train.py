"""The tutorial's training loop: SGD one sentence at a time, halving the rate when the loss rises."""

import sys
from datetime import datetime

from tqdm import tqdm

from aerann.validation import check_dataset, positive_int


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

    Every ``evaluate_loss_after`` epochs, and once more after the last epoch,
    the per-word loss on the training set is computed, printed and recorded;
    when it went up since the previous evaluation the learning rate is halved.
    ``callback(model, num_examples_seen, loss)`` is called after each
    evaluation.  ``progress`` shows a progress bar per epoch (default: when
    standard error is a terminal).  Returns the list of
    ``(num_examples_seen, loss)`` pairs.
    """
    X_train, y_train = check_dataset(X_train, y_train, model.word_dim)
    nepoch = positive_int(nepoch, "nepoch")
    evaluate_loss_after = positive_int(evaluate_loss_after, "evaluate_loss_after")
    if not learning_rate > 0:
        raise ValueError(f"learning_rate must be positive, got {learning_rate}")
    if progress is None:
        progress = sys.stderr.isatty()
    losses = []
    num_examples_seen = 0

    def evaluate(epoch):
        nonlocal learning_rate
        loss = model.calculate_loss(X_train, y_train)
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
        bar = tqdm(total=len(y_train), desc=f"epoch {epoch + 1}/{nepoch}", unit="sentence", disable=not progress, leave=False)
        for x, y in zip(X_train, y_train):
            model.sgd_step(x, y, learning_rate)
            num_examples_seen += 1
            bar.update()
        bar.close()
    evaluate(nepoch)
    return losses
