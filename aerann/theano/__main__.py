"""``python -m aerann.theano [--force] SCRIPT [ARGS]``: run a script written for Theano on aerann.theano."""

import sys

from aerann.theano.runner import main

sys.exit(main())
