"""Compiled functions whose Ops run threads of their own call Aesara's BLAS on one thread.

OpenBLAS's worker threads do not sleep as soon as a product is done: they
spin for a while (by default on the order of a tenth of a second), waiting
for the next one.  In a language model's training step Aesara's products
(the input projections, the scans' per-step products) come before the
output layer, whose Op (:class:`~aerann.backend.output_loss.OutputCrossEntropy`)
splits its rows among threads of its own, one per core.  With Aesara's
OpenBLAS on several threads, its spinning workers then take cores from the
Op's threads for most of the Op's run, and the whole step took far longer
than with that BLAS on one thread (docs/benchmarks.md has the timings).
Setting the thread count while the workers spin does not stop them; not
waking them does.

So an Op class that runs its own threads says so with a class attribute
``runs_own_threads = True``, and :func:`for_own_threads` makes each call of
a C function that holds such an Op set Aesara's OpenBLAS to one thread for
the call's duration, then back to the count it had.  Other functions (the
tutorial's per-sentence step, whose products gain from every core) are left
as they are.
"""

from aerann.backend import aesara_setup


def runs_own_threads(function) -> bool:
    """Whether compiled ``function`` holds a node whose Op runs threads of its own."""
    return any(getattr(node.op, "runs_own_threads", False) for node in function.maker.fgraph.apply_nodes)


class _OneBlasThreadVM:
    """Wraps a compiled function's VM to run each call with Aesara's OpenBLAS on one thread."""

    def __init__(self, vm, openblas):
        self.vm = vm
        self.openblas = openblas

    def __call__(self, *args, **kwargs):
        before = self.openblas.openblas_get_num_threads()
        if before == 1:
            return self.vm(*args, **kwargs)
        self.openblas.openblas_set_num_threads(1)
        try:
            return self.vm(*args, **kwargs)
        finally:
            self.openblas.openblas_set_num_threads(before)

    def __getattr__(self, name):
        return getattr(self.vm, name)


def for_own_threads(function):
    """Make compiled C ``function`` call Aesara's BLAS on one thread if one of its Ops runs its own threads."""
    openblas = aesara_setup.aesara_openblas()
    if openblas is not None and runs_own_threads(function):
        function.vm = _OneBlasThreadVM(function.vm, openblas)
    return function
