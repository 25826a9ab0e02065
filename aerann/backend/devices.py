"""Data parallelism on the JAX backend: each minibatch split along its batch axis over several devices.

A training step compiled by :mod:`aerann.backend.compiler` is an XLA
program that ``jax.jit`` compiles for the shardings of the arrays it is
called with.  :class:`DataParallel` calls it with the minibatch sharded
over a one-axis mesh of N devices (``jax.sharding.NamedSharding(mesh,
PartitionSpec(..., "batch", ...))``) and with every parameter and
optimizer state replicated (``PartitionSpec()``).  The model's graph is
unchanged: XLA's partitioner gives each device its share of the batch,
and where the graph sums over the batch (the loss, every gradient) it
inserts the all-reduce, so that every device applies the same update to
its replica.  The program differs from the one-device one only in the
order its sums are added up in.

The batch axis of a step's inputs follows from what they are: the
time-major (T, B) arrays X, Y and mask and the (T, B, n) input dropout
masks are split along axis 1, the (B, n) initial states of a stream step
and the recurrent dropout masks along axis 0; the learning rate is
replicated.  A minibatch whose width does not divide by N is widened with
all-padding sequences (mask 0), which change neither loss nor gradients.

Several processes (one per host, say) make one run with
:func:`initialize`: JAX then sees every process's devices, the mesh spans
them all, and each process supplies the part of every input that lies on
its own devices.
"""

import socket
import sys
import time

import numpy as np

from aerann.backend import compiler
from aerann.data.validation import positive_int

AXIS = "batch"  # the mesh's one axis
JOIN_TIMEOUT = 300  # seconds a process waits for the coordinator and the other processes


def initialize(coordinator, num_processes, process_id, timeout=JOIN_TIMEOUT) -> None:
    """Make this process one of ``num_processes`` that train as one run (``jax.distributed.initialize``).

    ``coordinator`` is ``"HOST:PORT"``, where process 0 serves and every
    other process connects; ``process_id`` is this process's place in
    ``[0, num_processes)``.  Afterwards JAX sees every process's devices,
    ``devices="all"`` spans them, and only process 0 writes a run's files.
    On the CPU the processes' collectives go through Gloo.  A process
    other than 0 that cannot reach the coordinator within ``timeout``
    seconds stops with a RuntimeError; the others are stopped by JAX
    itself when a process does not join in time.
    """
    host, port = _address(coordinator)
    num_processes = positive_int(num_processes, "num_processes")
    if isinstance(process_id, bool) or not isinstance(process_id, (int, np.integer)):
        raise TypeError(f"process_id must be an integer, got {process_id!r}")
    if not 0 <= process_id < num_processes:
        raise ValueError(f"process_id must be in [0, {num_processes}) for {num_processes} process(es), "
                         f"got {process_id}")
    timeout = float(timeout)
    if not timeout > 0:
        raise ValueError(f"the timeout must be positive, got {timeout:g}")
    if compiler.get_backend() != "jax":
        raise ValueError("several processes train together on the JAX backend only: set AERANN_BACKEND=jax or "
                         "call aerann.set_backend('jax'), or give --backend jax to the aerann command")
    if process_id != 0:
        _wait_for(host, port, timeout)
    else:
        print(f"waiting up to {timeout:g} s for {num_processes} process(es) to join at {host}:{port}",
              file=sys.stderr, flush=True)
    import jax

    jax.config.update("jax_cpu_collectives_implementation", "gloo")
    jax.distributed.initialize(coordinator_address=f"{host}:{port}", num_processes=num_processes,
                               process_id=int(process_id), initialization_timeout=max(1, int(timeout)))


def _address(coordinator):
    """(host, port) of ``"HOST:PORT"``."""
    host, colon, port = str(coordinator).rpartition(":")
    if not colon or not host or not port.isdigit() or not 0 < int(port) < 65536:
        raise ValueError(f"the coordinator must be HOST:PORT (a port in 1-65535), got {coordinator!r}")
    return host.strip("[]"), int(port)


def _wait_for(host, port, timeout):
    """Return once the coordinator accepts a connection; a RuntimeError after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            with socket.create_connection((host, port), timeout=min(5.0, timeout)):
                return
        except OSError as error:
            if time.monotonic() >= deadline:
                raise RuntimeError(f"could not reach the coordinator at {host}:{port} within {timeout:g} s "
                                   f"({error}): is process 0 running, and is the address one this host "
                                   "can reach?") from None
            time.sleep(0.2)


def writes_files() -> bool:
    """Whether this process writes a run's files: process 0 of several, or a process on its own."""
    if "jax" not in sys.modules:  # JAX never started: this process is on its own
        return True
    import jax

    return jax.process_index() == 0


def available() -> int:
    """How many devices JAX sees (every process's, after :func:`initialize`)."""
    import jax

    return jax.device_count()


def check(devices):
    """``devices`` as a device count: None (no data parallelism), a positive integer, or "all".

    A ValueError or TypeError names what is wrong: a count below 1, a
    non-integer, the C backend (data parallelism runs on JAX only), more
    devices than JAX sees.
    """
    if devices is None:
        return None
    if isinstance(devices, str):
        if devices.strip().lower() != "all":
            raise ValueError(f'devices must be a positive integer or "all", got {devices!r}')
    elif isinstance(devices, bool) or not isinstance(devices, (int, np.integer)):
        raise TypeError(f'devices must be a positive integer or "all", got {devices!r}')
    else:
        positive_int(devices, "devices")
    if compiler.get_backend() != "jax":
        raise ValueError("devices (data-parallel training) needs the JAX backend: set AERANN_BACKEND=jax or "
                         "call aerann.set_backend('jax'), or give --backend jax to the aerann command")
    count = available()
    if isinstance(devices, str):
        return count
    if devices > count:
        raise ValueError(f"devices={devices}, but JAX sees only {count} device(s): {_described()}")
    return int(devices)


def _described() -> str:
    import jax

    kinds = sorted({device.platform for device in jax.devices()})
    hint = " (on the CPU, XLA_FLAGS=--xla_force_host_platform_device_count=N makes N)" if kinds == ["cpu"] else ""
    return f"{', '.join(kinds)}{hint}"


def padded_width(width: int, count: int) -> int:
    """The smallest multiple of ``count`` that is at least ``width``."""
    return -(-width // count) * count


class DataParallel:
    """A mesh of the first ``count`` devices, and steps called with their batch split over it."""

    def __init__(self, count: int):
        import jax
        from jax.sharding import Mesh, NamedSharding, PartitionSpec

        self.count = count
        self.mesh = Mesh(np.array(jax.devices()[:count]), (AXIS,))
        self.replicated = NamedSharding(self.mesh, PartitionSpec())
        self._along = lambda axis, ndim: NamedSharding(
            self.mesh, PartitionSpec(*[AXIS if i == axis else None for i in range(ndim)]))

    def width(self, batch_size: int) -> int:
        """The width of every minibatch: ``batch_size`` rounded up to a multiple of the device count."""
        return padded_width(batch_size, self.count)

    def step(self, function, time_major=3):
        """``function`` called with its batch sharded: its first ``time_major`` inputs are (T, B) arrays,
        then a scalar (the learning rate), then (B, n) and (T, B, n) arrays (states, dropout masks)."""
        return ShardedStep(self, function, time_major)

    def place(self, value, sharding):
        """``value`` (NumPy or JAX) as a JAX array with ``sharding``, each process supplying its devices' parts."""
        import jax

        if isinstance(value, jax.Array):
            if value.sharding.is_equivalent_to(sharding, value.ndim):
                return value
            if value.is_fully_addressable:
                return jax.device_put(value, sharding)
        host = np.asarray(value)
        return jax.make_array_from_callback(host.shape, sharding, lambda index: host[index])

    def sharding_of(self, axis, ndim):
        return self.replicated if axis is None else self._along(axis, ndim)


class ShardedStep:
    """A compiled Aesara function called with its inputs and shared values placed by a :class:`DataParallel`.

    The arguments are converted to the inputs' dtypes and placed here, and
    the function is called with ``trust_input`` (Aesara's own conversion
    would bring every JAX array back to the host).
    """

    def __init__(self, parallel, function, time_major):
        self.parallel, self.function = parallel, function
        explicit = [i.variable for i in function.maker.inputs if not i.implicit]
        self.inputs = []
        for position, variable in enumerate(explicit):
            ndim = variable.type.ndim
            axis = 1 if position < time_major else (None if ndim == 0 else (1 if ndim == 3 else 0))
            self.inputs.append((variable.type.dtype, parallel.sharding_of(axis, ndim)))
        self.shared = [container.storage for i, container in zip(function.maker.inputs, function.input_storage)
                       if i.implicit]

    def __call__(self, *args):
        if len(args) != len(self.inputs):
            raise TypeError(f"the step takes {len(self.inputs)} inputs, got {len(args)}")
        placed = [self.parallel.place(arg if _is_jax(arg) else np.asarray(arg, dtype), sharding)
                  for arg, (dtype, sharding) in zip(args, self.inputs)]
        for storage in self.shared:
            storage[0] = self.parallel.place(storage[0], self.parallel.replicated)
        self.function.trust_input = True
        try:
            return self.function(*placed)
        finally:
            self.function.trust_input = False


def _is_jax(value) -> bool:
    return type(value).__module__.startswith("jax")


def gathered(value) -> np.ndarray:
    """A JAX array's whole value on this host (from every process's devices), as NumPy."""
    import jax

    if isinstance(value, jax.Array) and not value.is_fully_addressable and not value.is_fully_replicated:
        from jax.experimental import multihost_utils

        return np.asarray(multihost_utils.process_allgather(value, tiled=True))
    return np.asarray(value)
