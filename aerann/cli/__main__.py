"""``python -m aerann.cli``: the ``aerann`` command."""

import sys

from aerann.cli import main

sys.exit(main())
