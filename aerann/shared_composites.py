"""One ``Composite`` per distinct scalar graph in Aesara 2.9.4's broadcast-shape checks.

Every ``Elemwise`` node that enters a function graph gets its output shape
from ``Elemwise.infer_shape``, which calls ``broadcast_shape``.  Where two
inputs' sizes in a dimension are not provably the same variable (a batch
size read from the data and one read from an initial state, say), Aesara
builds the broadcast size

    size = |max_i s_i'|,   s_i' = -1 if s_i == 1 else s_i,

and a check that every ``s_i'`` is -1 or ``size``, each as a new scalar
``Composite`` op.  Creating a ``Composite`` clones its scalar graph, and
hashing it (which every rewrite's merge and lookup does) generates its C
code, so in a stacked model, whose rewrites import thousands of Elemwise
nodes, these throwaway ops were a large part of the compile time.  Yet there
are only a few distinct ones: they depend on the number of sizes compared,
their dtypes and any constant size, not on which sizes they are applied to.

Here ``broadcast_shape`` runs unchanged, but each ``Composite`` it asks for
is looked up by the structure of its scalar graph and created only the
first time.  An op is reusable on any inputs, and one built from the same
graph is equal to it (``Composite.__eq__`` compares the C code), so every
graph, and every value computed from it, is what Aesara would have built.
"""

import aesara.tensor.extra_ops as extra_ops
from aesara.graph.basic import Constant
from aesara.scalar.basic import Composite

_composites = {}


def signature(inputs, outputs):
    """A hashable description of the scalar graph from ``inputs`` to ``outputs``: equal for two
    graphs exactly when they apply the same ops in the same pattern to the same-typed inputs."""
    keys = {variable: ("input", position, variable.type) for position, variable in enumerate(inputs)}

    def key(variable):
        if variable not in keys:
            if isinstance(variable, Constant):
                keys[variable] = ("constant", variable.type, variable.data.item())
            elif variable.owner is None:
                raise ValueError(f"{variable} is neither an input of the graph nor computed from them")
            else:
                node = variable.owner
                keys[variable] = (node.op, node.outputs.index(variable), tuple(key(i) for i in node.inputs))
        return keys[variable]

    return tuple(key(output) for output in outputs)


def shared_composite(inputs, outputs):
    """The ``Composite`` of the scalar graph ``inputs -> outputs``, the same object for every
    graph with the same :func:`signature`."""
    key = signature(inputs, outputs)
    if key not in _composites:
        _composites[key] = Composite(inputs, outputs)
    return _composites[key]


def install():
    """Make Aesara's ``broadcast_shape`` (``aesara.tensor.extra_ops``) create its ops through
    :func:`shared_composite`."""
    extra_ops.Composite = shared_composite
