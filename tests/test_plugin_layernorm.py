"""A second third-party plugin: plugins/aerann-layernorm, found through its entry point.

As for aerann-mgu, the plugin's source folder and a dist-info folder
declaring its entry point are put on sys.path, what ``pip install`` leaves
behind, so the registry finds it the way it finds any installed plugin.
"""

import os
import re
import subprocess
import sys

import pytest

import aerann
from plugin_on_path import plugin_on_path, PLUGINS

PLUGIN = PLUGINS / "aerann-layernorm"


@pytest.fixture(scope="module")
def plugin_paths(tmp_path_factory):
    with plugin_on_path(tmp_path_factory.mktemp("site"), "aerann-layernorm", "aerann_layernorm", "layernorm") as paths:
        yield paths


def test_both_units_are_registered_through_the_entry_point(plugin_paths):
    for name in ("ln_lstm", "ln_gru"):
        assert aerann.units.sources()[name] == "plugin 'layernorm' (aerann_layernorm) from aerann-layernorm 0.1.0"
    assert {"elman", "rated", "gru", "lstm"} <= set(aerann.units.names())
    assert not aerann.units.errors()


@pytest.mark.slow
def test_the_plugins_own_tests_pass(plugin_paths):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(plugin_paths + [str(PLUGIN.parents[1])]))
    # Without --aerann-jax: the JAX property is the harness's, certified on the built-in units
    # (tests/test_gradient_properties.py); here it is reported as not asked for.
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rs", "-n", "0", "-p", "no:cacheprovider", str(PLUGIN / "tests")],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 25, result.stdout
    assert re.search(r"\b2 skipped", result.stdout), result.stdout
    assert result.stdout.count("not asked for (--jax)") == 2, result.stdout
    assert not re.search(r"\d+ (deselected|xfailed)", result.stdout), result.stdout
