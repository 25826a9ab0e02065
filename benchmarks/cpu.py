"""CPU benchmark: aerann against RNNNumpy and PyTorch on this machine (same as `aerann bench`).

Run from a checkout:  python benchmarks/cpu.py  (add --quick for tiny sizes, --help for options).
The code lives in aerann/cli/bench.py so that the installed `aerann bench` command runs it too.
"""

import sys

from aerann.cli.bench import main

if __name__ == "__main__":
    sys.exit(main())
