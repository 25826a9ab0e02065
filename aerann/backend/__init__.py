"""How aerann's graphs become fast functions on Aesara's C backend or its JAX backend.

:mod:`~aerann.backend.compiler` is the one place graphs are compiled; the
other modules make that quick (kept functions, headers, flags, parallel gcc,
cheaper rewrites), hold the parameters (on the JAX device between calls) and
give JAX what Aesara's own dispatch lacks (Scan, the fused cross-entropy).
"""
