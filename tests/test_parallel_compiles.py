"""New C modules are compiled before Aesara's compile lock is taken, then stored in its cache as
Aesara stores them; a module another process stored meanwhile wins over the private build, and a
module another process is building is waited for instead of built twice."""

import os
import socket
import subprocess
import sys
import threading
import time

import aerann  # noqa: F401
import aesara
import aesara.scalar as aes
import aesara.tensor as at
import numpy as np
import pytest
from aesara.compile import compilelock
from aesara.graph.fg import FunctionGraph
from aesara.link.c.basic import CLinker
from aesara.link.c.cmodule import GCC_compiler, get_module_cache
from aesara.scan.op import Scan
from aesara.tensor.elemwise import Elemwise

from aerann.backend import parallel_compiles


def lock_held() -> bool:
    return f"{aesara.config.compiledir}-{os.getpid()}" in compilelock.local_mem._locks


def never_compiled_before():
    """A fused elementwise graph whose C module no run has compiled: the constant written into
    its C code is this moment's."""
    x = at.dvector("x")
    constant = 1.0 + (time.time_ns() % 10**12) / 10**13
    s = aes.float64()
    kernel = Elemwise(aes.Composite([s], [aes.tanh(s) * constant + aes.exp(s)]))
    return x, kernel(x), constant


def never_compiled_linker():
    """(x, y, constant, C linker of y, its module key, the module cache) for never_compiled_before's graph."""
    x, y, constant = never_compiled_before()
    linker = CLinker().accept(FunctionGraph([x], [y]))
    return x, y, constant, linker, linker.cmodule_key(), get_module_cache(aesara.config.compiledir)


@pytest.fixture
def gcc_calls(monkeypatch):
    """Whether Aesara's compile lock was held, for each gcc run."""
    calls = []
    compile_str = GCC_compiler.compile_str

    def spy(*args, **kwargs):
        calls.append(lock_held())
        return compile_str(*args, **kwargs)

    monkeypatch.setattr(GCC_compiler, "compile_str", staticmethod(spy))
    return calls


def test_gcc_runs_without_the_lock_and_the_module_joins_the_cache(gcc_calls):
    x, y, constant, linker, key, cache = never_compiled_linker()
    module = cache.module_from_key(key, linker)
    assert gcc_calls == [False]
    assert module.__file__.startswith(aesara.config.compiledir)
    folder = os.path.dirname(module.__file__)
    assert {"mod.cpp", "key.pkl", "__init__.py"} <= set(os.listdir(folder))
    assert cache.module_from_key(key, linker) is module and gcc_calls == [False]

    f = aesara.function([x], at.exp(y) * 2)  # new fused nodes, each built outside the lock
    assert len(gcc_calls) > 1 and not any(gcc_calls)
    values = np.array([-1.0, 0.5, 2.0])
    np.testing.assert_allclose(f(values), np.exp(np.tanh(values) * constant + np.exp(values)) * 2, rtol=1e-12)


def test_a_module_stored_by_another_process_meanwhile_is_the_one_used(monkeypatch, gcc_calls):
    x, y, _, linker, key, cache = never_compiled_linker()
    build = parallel_compiles.build
    stored, folders = [], []

    def build_while_another_stores_it(lnk, folder):
        library = build(lnk, folder)
        folders.append(folder)
        stored.append(parallel_compiles._aesaras(cache, key, CLinker().accept(FunctionGraph([x], [y]))))
        return library

    monkeypatch.setattr(parallel_compiles, "build", build_while_another_stores_it)
    module = cache.module_from_key(key, linker)
    assert module is stored[0]
    assert gcc_calls == [False, True]  # ours outside the lock, the other one (Aesara's own) inside
    assert not folders[0].exists()  # the private build is discarded


def test_a_new_functions_modules_are_built_side_by_side_before_linking_and_then_used(monkeypatch):
    from aerann.backend import compiler

    x, y, constant = never_compiled_before()
    threads, gcc_calls = set(), []
    build, compile_str = parallel_compiles.build, GCC_compiler.compile_str

    def recording_build(lnk, folder):
        import threading

        threads.add(threading.current_thread().name)
        return build(lnk, folder)

    def counting(*args, **kwargs):
        gcc_calls.append(args or kwargs.get("module_name"))
        return compile_str(*args, **kwargs)

    monkeypatch.setattr(parallel_compiles, "build", recording_build)
    monkeypatch.setattr(GCC_compiler, "compile_str", staticmethod(counting))
    # Three fused nodes whose C code holds this moment's constant: none of them was built before.
    s = aes.float64()
    kernels = [Elemwise(aes.Composite([s], [function(s) * (constant + i)]))
               for i, function in enumerate((aes.sin, aes.cos, aes.exp), start=1)]
    f = compiler.function([x], [kernel(y) for kernel in kernels])
    built = len(gcc_calls)
    assert built >= 3 and all(name != "MainThread" for name in threads)  # all built ahead, in the pool
    values = np.array([-1.0, 0.5, 2.0])
    inner = np.tanh(values) * constant + np.exp(values)
    for got, function, i in zip(f(values), (np.sin, np.cos, np.exp), (1, 2, 3)):
        np.testing.assert_allclose(got, function(inner) * (constant + i), rtol=1e-12)
    assert parallel_compiles.build_ahead(f.maker.fgraph.toposort()) == [] and len(gcc_calls) == built


def test_nodes_of_different_keys_and_the_same_source_are_built_once():
    _, _, constant = never_compiled_before()
    s = aes.float64()
    kernel = Elemwise(aes.Composite([s], [aes.sinh(s) * constant]))
    nodes = [kernel(at.tensor("float64", shape=(size,))).owner for size in (3, 4)]
    linkers = [CLinker().accept(FunctionGraph(node.inputs, node.outputs)) for node in nodes]
    keys = [linker.cmodule_key() for linker in linkers]
    assert keys[0] != keys[1] and linkers[0].get_src_code() == linkers[1].get_src_code()
    assert len(parallel_compiles._missing_modules(nodes)) == 1


def test_aesaras_compiled_loops_are_imported_in_the_pool_where_a_process_lacks_them(monkeypatch):
    x = at.dvector("x")
    total, _ = aesara.scan(lambda value, carried: carried + value, sequences=[x], outputs_info=[at.zeros(())])
    f = aesara.function([x], total[-1])
    imported = []
    monkeypatch.setattr(parallel_compiles, "_import",
                        lambda module: imported.append((module, threading.current_thread().name)))
    monkeypatch.delitem(sys.modules, "aesara.scan.scan_perform_ext", raising=False)
    monkeypatch.delitem(sys.modules, "aesara.link.c.cvm", raising=False)
    parallel_compiles.build_ahead(f.maker.fgraph.toposort())
    assert sorted(module for module, _ in imported) == ["aesara.link.c.cvm", "aesara.scan.scan_perform_ext"]
    assert all(thread != "MainThread" for _, thread in imported)
    imported.clear()
    monkeypatch.delitem(sys.modules, "aesara.link.c.cvm", raising=False)
    parallel_compiles.build_ahead([node for node in f.maker.fgraph.toposort() if not isinstance(node.op, Scan)])
    assert [module for module, _ in imported] == ["aesara.link.c.cvm"]  # no scan, no scan loop


def claimed_by(pid, key):
    """The claim file of ``key``'s module, written as process ``pid`` of this host writes it."""
    path = parallel_compiles._claim_file(key)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f"{socket.gethostname()} {pid}")
    return path


def test_a_module_another_process_is_building_is_waited_for_and_not_built_again(gcc_calls):
    x, y, constant, linker, key, cache = never_compiled_linker()
    other = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    claim = claimed_by(other.pid, key)
    stored = []

    def the_other_process_builds_it():
        time.sleep(1.0)
        stored.append(parallel_compiles._aesaras(cache, key, CLinker().accept(FunctionGraph([x], [y]))))
        claim.unlink()

    builder = threading.Thread(target=the_other_process_builds_it)
    try:
        assert not parallel_compiles.claim(key)
        started = time.time()
        builder.start()
        module = cache.module_from_key(key, linker)
        waited = time.time() - started
    finally:
        other.kill()
        builder.join()
    assert waited >= 1.0 and module is stored[0]
    assert gcc_calls == [True]  # the other process's build alone (Aesara's own, inside the lock)
    f = aesara.function([x], y)
    np.testing.assert_allclose(f(np.array([0.5])), np.tanh(0.5) * constant + np.exp(0.5), rtol=1e-12)


def test_a_claim_whose_process_is_gone_is_ignored(gcc_calls):
    x, y, _, linker, key, cache = never_compiled_linker()
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    claim = claimed_by(gone.pid, key)
    started = time.time()
    cache.module_from_key(key, linker)
    assert time.time() - started < 30 and gcc_calls == [False]  # built here, outside the lock, at once
    assert not claim.exists()  # released once stored
