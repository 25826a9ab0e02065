"""aerann configures Aesara before it loads: a real BLAS linked, its threads set, user flags kept."""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from hypothesis import given, HealthCheck, settings, strategies as st

from aerann.backend import aesara_setup

PROBE = """
import ctypes, aerann, aesara, aesara.tensor as at
from aerann.backend import aesara_setup
library = aesara_setup.scipy_openblas()
f = aesara.function([A := at.matrix(), v := at.vector()], at.dot(A, v))
print("ldflags", aesara.config.blas__ldflags)
print("ops", [type(node.op).__name__ for node in f.maker.fgraph.toposort()])
print("threads", ctypes.CDLL(str(library)).openblas_get_num_threads() if library else None)
"""


def probe(**environment):
    """What a fresh interpreter importing aerann, then aesara, reports (ldflags, ops, BLAS threads)."""
    env = {k: v for k, v in os.environ.items() if k not in ("AESARA_FLAGS", "AERANN_BLAS_THREADS")}
    env.update(environment)
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, env=env, timeout=300)
    return done.returncode, done.stdout, done.stderr


def test_ldflags_link_the_file_by_name_with_an_rpath_and_no_commas():
    flags = aesara_setup.blas_ldflags(Path("/opt/libs/libopenblasp-r0-1234.3.21.so"))
    assert flags == "-L/opt/libs -l:libopenblasp-r0-1234.3.21.so -Xlinker -rpath=/opt/libs"
    assert "," not in flags
    assert aesara_setup.blas_ldflags(None) == ""


def test_scipy_wheel_openblas_is_found():
    library = aesara_setup.scipy_openblas()
    assert library is not None and library.parent.name == "scipy.libs" and library.name.startswith("libopenblas")


def test_import_links_scipys_openblas_on_the_idle_cores_and_compiles_a_c_gemv():
    code, out, err = probe()
    assert code == 0, err
    assert "scipy.libs" in out and "-l:libopenblas" in out
    assert "CGemv" in out, out  # Aesara's BLAS-calling C op, only used when a BLAS is linked
    threads = int(re.search(r"threads (\d+)", out)[1])
    assert 1 <= threads <= len(os.sched_getaffinity(0))
    assert "We did not find a dynamic library" not in err


def test_blas_threads_follow_the_environment_and_bad_values_are_named():
    code, out, err = probe(AERANN_BLAS_THREADS="2")
    assert code == 0, err
    assert "threads 2" in out
    code, out, err = probe(AERANN_BLAS_THREADS="zero")
    assert code != 0 and "AERANN_BLAS_THREADS must be a positive integer or auto, got 'zero'" in err


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(load=st.floats(0, 64), more=st.floats(0, 8), usable=st.sampled_from([{0}, {0, 1}, set(range(16))]))
def test_idle_cores_are_the_usable_cores_less_the_load_and_at_least_one(monkeypatch, load, more, usable):
    monkeypatch.setattr(os, "sched_getaffinity", lambda pid: usable)
    monkeypatch.setattr(os, "getloadavg", lambda: (load, 0.0, 0.0))
    idle = aesara_setup.idle_cores()
    monkeypatch.setattr(os, "getloadavg", lambda: (load + more, 0.0, 0.0))
    busier = aesara_setup.idle_cores()
    assert 1 <= busier <= idle <= len(usable)
    assert idle == max(1, round(len(usable) - load))


def test_a_users_own_blas_flags_are_kept():
    code, out, err = probe(AESARA_FLAGS="blas__ldflags=")
    assert code == 0, err
    assert "ldflags \n" in out and "CGemv" not in out


@pytest.mark.parametrize("count", [0, -3])
def test_set_blas_threads_refuses_non_positive_counts(count):
    with pytest.raises(ValueError, match="positive integer"):
        aesara_setup.set_blas_threads(aesara_setup.scipy_openblas(), count)


def test_scipy_stats_loads_on_first_use_and_then_works_as_imported():
    code = (
        "import sys, aerann, aesara, aesara.scalar.math as m\n"
        "print('deferred', type(sys.modules['scipy.stats']).__name__)\n"
        "print('chi2sf', m.chi2sf.impl(1.0, 2))\n"  # Aesara's own call into scipy.stats
        "import scipy, scipy.stats\n"
        "from scipy.stats import norm\n"
        "print('norm', norm.cdf(0.0), scipy.stats.norm is norm, sys.modules['scipy.stats'].chi2 is scipy.stats.chi2)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "deferred DeferredModule" in done.stdout
    assert "chi2sf 0.6065306597" in done.stdout
    assert "norm 0.5 True True" in done.stdout
