"""The compiled-function cache: one key per graph structure, the same in every process, and a
loaded function that computes what the compiled one did on the caller's own shared variables."""

import logging
import os
import subprocess
import sys
import zlib
from pathlib import Path

import aesara
import aesara.tensor as at
import numpy as np
import pytest
from aesara.compile.builders import OpFromGraph
from aesara.compile.function.types import FunctionMaker

from aerann.backend import compiler, function_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder for the test, the cache on whatever the environment says."""
    monkeypatch.setattr(function_cache, "directory", lambda: tmp_path / "functions")
    monkeypatch.delenv("AERANN_FUNCTION_CACHE", raising=False)
    return tmp_path / "functions"


def recurrence(activation=at.tanh, scale=2.0, dtype="float64"):
    """(inputs, outputs, updates, W): a scan over x's rows with a shared W, W decayed by the update."""
    W = aesara.shared(np.eye(3, dtype=dtype), name="W")
    x = at.matrix("x", dtype=dtype)
    states, _ = aesara.scan(lambda x_t, h: activation(x_t + at.dot(h, W)), sequences=[x], outputs_info=[at.zeros(3, dtype=dtype)])
    return [x], [states.sum() * scale], [(W, W * 0.5)], W


def key(**variant):
    inputs, outputs, updates, _ = recurrence(**variant)
    return function_cache.describe(inputs, outputs, updates)[0]


def test_the_same_graph_built_twice_has_one_key_and_any_difference_changes_it():
    assert key() == key()
    different = [key(activation=at.sigmoid), key(scale=3.0), key(dtype="float32")]
    assert len({key(), *different}) == 4
    inputs, outputs, updates, W = recurrence()
    assert function_cache.describe(inputs, outputs, updates)[0] != function_cache.describe(inputs, outputs)[0]
    V = aesara.shared(np.eye(3), name="V")
    assert function_cache.describe(inputs, outputs, updates, givens=[(W, V * 2)])[0] != key()
    # the same variables as an update or as a replacement are different functions
    as_update = function_cache.describe(inputs, outputs, updates=[(W, V * 2)])[0]
    assert as_update != function_cache.describe(inputs, outputs, givens=[(W, V * 2)])[0]


def test_the_key_is_the_same_in_another_process_whatever_its_hash_seed():
    here = str(Path(__file__).parent)
    script = f"import aerann, sys; sys.path.insert(0, {here!r}); import test_function_cache as t; print(t.key())"
    keys = {
        subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True,
                       env={**os.environ, "PYTHONHASHSEED": seed}).stdout.strip()
        for seed in ("1", "2")
    }
    assert keys == {key()}


def test_a_loaded_function_computes_the_same_and_updates_the_callers_shared_variable(cache, monkeypatch):
    x = np.random.default_rng(0).normal(size=(4, 3))
    inputs, outputs, updates, W = recurrence()
    built = compiler.function(inputs, outputs, updates=updates)
    assert len(list(cache.glob("*.pkl.z"))) == 1
    expected = built(x)
    np.testing.assert_array_equal(W.get_value(), 0.5 * np.eye(3))

    def no_rewriting(*args, **kwargs):
        raise AssertionError("a loaded function must not be rewritten again")

    monkeypatch.setattr(FunctionMaker, "prepare_fgraph", no_rewriting)
    inputs, outputs, updates, other_W = recurrence()
    loaded = compiler.function(inputs, outputs, updates=updates, name="again")
    assert loaded.name == "again"
    np.testing.assert_array_equal(loaded(x), expected)
    np.testing.assert_array_equal(other_W.get_value(), 0.5 * np.eye(3))  # its own W, updated
    np.testing.assert_array_equal(W.get_value(), 0.5 * np.eye(3))  # the first one's untouched
    other_W.set_value(np.zeros((3, 3)))
    assert not np.allclose(loaded(x), expected)  # it reads the W it was loaded for


def test_an_entry_holds_neither_the_shared_values_nor_where_the_variables_were_created(cache):
    inputs, outputs, updates, W = recurrence()
    W.set_value(np.full((3, 3), 0.123456789))
    compiler.function(inputs, outputs, updates=updates)
    (entry,) = cache.glob("*.pkl.z")
    pickled = zlib.decompress(entry.read_bytes())
    assert W.get_value().tobytes() not in pickled
    assert Path(__file__).name.encode() not in pickled  # Aesara's creation tracebacks name this file


def test_an_unreadable_entry_is_removed_and_the_function_compiled_again(cache, caplog):
    inputs, outputs, updates, _ = recurrence()
    compiler.function(inputs, outputs, updates=updates)
    (entry,) = cache.glob("*.pkl.z")
    entry.write_bytes(b"not a compiled function")
    inputs, outputs, updates, _ = recurrence()
    with caplog.at_level(logging.WARNING, logger="aerann.backend.function_cache"):
        f = compiler.function(inputs, outputs, updates=updates)
    assert "removing the unreadable compiled function" in caplog.text
    assert np.isfinite(f(np.ones((2, 3))))
    assert entry.read_bytes() != b"not a compiled function"  # stored again, readable


def test_graphs_it_cannot_describe_compile_as_usual_and_are_not_stored(cache):
    x = at.vector("x")
    double = OpFromGraph([x], [2 * x])  # an op compared by identity, not by properties
    with pytest.raises(function_cache.Uncacheable):
        function_cache.describe([x], [double(x)])
    np.testing.assert_array_equal(compiler.function([x], double(x))(np.ones(2)), [2.0, 2.0])
    counter = aesara.shared(np.int64(0))
    counter.default_update = counter + 1
    with pytest.raises(function_cache.Uncacheable, match="default update"):
        function_cache.describe([], [counter * 2])
    assert not cache.exists()


def test_it_can_be_turned_off(cache, monkeypatch):
    monkeypatch.setenv("AERANN_FUNCTION_CACHE", "0")
    inputs, outputs, updates, _ = recurrence()
    compiler.function(inputs, outputs, updates=updates)
    assert not cache.exists()


def test_each_backend_has_its_own_entry(cache):
    x = np.random.default_rng(1).normal(size=(4, 3))
    inputs, outputs, updates, _ = recurrence()
    on_c = compiler.function(inputs, outputs, updates=updates)(x)
    with compiler.backend("jax"):
        inputs, outputs, updates, _ = recurrence()
        on_jax = compiler.function(inputs, outputs, updates=updates)(x)
        inputs, outputs, updates, _ = recurrence()
        loaded = function_cache.loaded
        again = compiler.function(inputs, outputs, updates=updates)(x)
        assert function_cache.loaded == loaded + 1
    assert len(list(cache.glob("*.pkl.z"))) == 2
    np.testing.assert_allclose(on_jax, on_c, rtol=1e-12)
    np.testing.assert_array_equal(again, on_jax)


def test_the_same_graph_with_other_rewrites_left_out_has_its_own_entry(cache, monkeypatch):
    x = np.random.default_rng(1).normal(size=(4, 3))
    results = []
    for skipped in (compiler.SKIPPED_REWRITES, (), compiler.SKIPPED_REWRITES):
        monkeypatch.setattr(compiler, "SKIPPED_REWRITES", skipped)
        inputs, outputs, updates, _ = recurrence()
        results.append(compiler.function(inputs, outputs, updates=updates)(x))
    assert len(list(cache.glob("*.pkl.z"))) == 2
    np.testing.assert_array_equal(results[0], results[2])


def test_jax_keeps_its_xla_programs_beside_the_functions_unless_told_where(cache):
    import jax

    previous = jax.config.jax_compilation_cache_dir, jax.config.jax_persistent_cache_min_compile_time_secs
    try:
        jax.config.update("jax_compilation_cache_dir", None)
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
        function_cache.keep_xla_programs()
        assert jax.config.jax_compilation_cache_dir == str(cache / "xla")
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 0  # every program is kept
        jax.config.update("jax_compilation_cache_dir", "/elsewhere")
        jax.config.update("jax_persistent_cache_min_compile_time_secs", 1.0)
        function_cache.keep_xla_programs()
        assert jax.config.jax_compilation_cache_dir == "/elsewhere"
        assert jax.config.jax_persistent_cache_min_compile_time_secs == 1.0
    finally:
        jax.config.update("jax_compilation_cache_dir", previous[0])
        jax.config.update("jax_persistent_cache_min_compile_time_secs", previous[1])
