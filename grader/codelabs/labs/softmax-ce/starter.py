"""Lab softmax-ce: softmax cross-entropy and its gradient, numerically stable, in numpy.

Write `softmax_cross_entropy` below. Only numpy is available to import. Keep the name and the
parameters exactly as given: the grader calls this function directly.
"""

import numpy as np  # noqa: F401 (yours to use)


def softmax_cross_entropy(logits, labels):
    """Mean softmax cross-entropy over a batch, and its gradient w.r.t. the logits.

    Args:
        logits: float64 array of shape (N, K): one row of K class scores per example.
        labels: int array of shape (N,): the true class of each row, in [0, K - 1].

    Returns:
        (loss, dlogits):
        loss: a float, ``mean over rows n of -log softmax(logits[n])[labels[n]]``
            (as ``torch.nn.functional.cross_entropy``).
        dlogits: array of shape (N, K), d loss / d logits = ``(softmax(logits) - onehot(labels)) / N``.

    Must stay finite for huge logits (e.g. +-1e4 or 1e300): exp must never overflow and
    log(0) must never happen.
    """
    raise NotImplementedError("softmax_cross_entropy")
