"""Pickled ``Composite`` ops keep the C code they generated, so reading them back is cheap.

Aesara identifies a fused elementwise kernel, a scalar ``Composite`` op, by
its generated C code: ``Composite.__hash__`` and ``__eq__`` compare
``c_code_template``.  Yet Aesara 2.9.4's ``Composite.__getstate__`` drops that
code (and the scalar graph it came from), so every unpickled ``Composite``
rebuilds its scalar ``FunctionGraph`` and regenerates its C code the first
time it is hashed.  Two things unpickle many of them in every new process:
Aesara's C module cache, which reads the key of every module it holds
(``key.pkl``) the first time a process compiles or loads a C function, and
:mod:`aerann.backend.function_cache`, whose stored functions hold their fused
kernels.  With a few hundred modules in the cache, most of the time a new
process spent reading the cache went to regenerating code already known.

Here the pickled state keeps ``_c_code`` (with ``nodenames``, which Aesara
sets alongside it and already pickles).  Its own comment says the C code is
the op's identity, meant to survive pickling, and it is a pure function of
the scalar graph that is pickled with it, so an op read back compares and
hashes exactly as one regenerated from the graph would.  The scalar graph
itself is still rebuilt on demand, where compiling or running it needs it.
Pickles written without the code (by Aesara alone) read as before.
"""

from aesara.scalar.basic import Composite

_aesaras = Composite.__getstate__


def getstate(composite) -> dict:
    """Aesara's pickled state of ``composite``, with the C code it generated kept."""
    state = _aesaras(composite)
    if "_c_code" in composite.__dict__:
        state["_c_code"] = composite._c_code
    return state


def install():
    """Make every ``Composite`` pickled from now on keep its C code."""
    Composite.__getstate__ = getstate
