"""aerann: recurrent neural networks on Aesara.

The public API is re-exported here; every name below is documented in the
README.
"""

from aerann import aesara_setup as _aesara_setup

_aesara_setup.configure()

__version__ = "0.1.0"
