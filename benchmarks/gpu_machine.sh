#!/usr/bin/env bash
# benchmarks/gpu.py on the lent GPU machine: numpy 2, a CUDA JAX, no package
# registry (see docs/gpu.md). Two steps:
#   here, once:      bash benchmarks/gpu_machine.sh download   # wheels into .whl/ (git ignores it)
#   on the machine:  bash benchmarks/gpu_machine.sh run [gpu.py options]   # carry .whl
# "run" writes the benchmark's output to $OUT/gpu.txt when $OUT is set.
set -euo pipefail
cd "$(dirname "$0")/.."
WHEELS="aesara==2.9.4 cons==0.4.7 etuples==0.3.10 logical-unification==0.4.7 miniKanren==1.0.5
        toolz multipledispatch typing_extensions filelock pluggy tqdm"
case "${1:-}" in
download)
    grep -qx "/.whl/" .git/info/exclude 2>/dev/null || echo "/.whl/" >> .git/info/exclude
    # shellcheck disable=SC2086
    python3 -m pip download -q --no-deps -d .whl $WHEELS
    # Aesara imports setuptools, which Python 3.12 no longer brings: used only where missing.
    python3 -m pip download -q --no-deps -d .whl/where-missing setuptools
    ;;
run)
    # The wheels are pure Python: unpacking them is installing them, pip or not.
    unpack() {
        python3 -c "import glob, zipfile; [zipfile.ZipFile(w).extractall('/tmp/aerann-site') for w in glob.glob('$1/*.whl')]"
    }
    unpack .whl
    python3 -c "import setuptools" 2>/dev/null || unpack .whl/where-missing
    export PYTHONPATH="/tmp/aerann-site:$PWD" AESARA_FLAGS='blas__ldflags=,cxx=' AERANN_BACKEND=jax
    python3 -c "import jax, numpy; print('numpy', numpy.__version__, 'jax', jax.__version__, jax.devices())"
    python3 -u benchmarks/gpu.py "${@:2}" 2>&1 | tee "${OUT:-/tmp}/gpu.txt"
    ;;
*)
    echo "usage: $0 download | run [gpu.py options]" >&2
    exit 2
    ;;
esac
