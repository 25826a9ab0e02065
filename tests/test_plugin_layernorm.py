"""A second third-party plugin: plugins/aerann-layernorm, found through its entry point.

As for aerann-mgu, the plugin's source folder and a dist-info folder
declaring its entry point are put on sys.path, what ``pip install`` leaves
behind, so the registry finds it the way it finds any installed plugin.
"""

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

import aerann
from aerann.data.corpora import agreement_sentences
from aerann.data.text import training_data, Vocabulary
from aerann.models import LanguageModel

PLUGIN = Path(__file__).resolve().parents[1] / "plugins" / "aerann-layernorm"


def install_on_path(folder: Path) -> list[str]:
    """Make the plugin importable and discoverable; returns the sys.path entries added."""
    dist_info = folder / "aerann_layernorm-0.1.0.dist-info"
    dist_info.mkdir(parents=True, exist_ok=True)
    (dist_info / "METADATA").write_text("Metadata-Version: 2.1\nName: aerann-layernorm\nVersion: 0.1.0\n")
    (dist_info / "entry_points.txt").write_text("[aerann]\nlayernorm = aerann_layernorm\n")
    return [str(PLUGIN / "src"), str(folder)]


@pytest.fixture(scope="module")
def plugin_paths(tmp_path_factory):
    paths = install_on_path(tmp_path_factory.mktemp("site"))
    sys.path[:0] = paths
    aerann.units.reload()
    yield paths
    for path in paths:
        sys.path.remove(path)
    for module in [m for m in sys.modules if m == "aerann_layernorm" or m.startswith("aerann_layernorm.")]:
        del sys.modules[module]
    aerann.units.reload()


def test_both_units_are_registered_through_the_entry_point(plugin_paths):
    for name in ("ln_lstm", "ln_gru"):
        assert aerann.units.sources()[name] == "plugin 'layernorm' (aerann_layernorm) from aerann-layernorm 0.1.0"
    assert {"elman", "rated", "gru", "lstm"} <= set(aerann.units.names())
    assert not aerann.units.errors()


@pytest.mark.slow
def test_the_plugins_own_tests_pass(plugin_paths):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(plugin_paths + [str(PLUGIN.parents[1])]))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-n", "0", "-p", "no:cacheprovider", "--aerann-jax",
         str(PLUGIN / "tests")],
        capture_output=True, text=True, env=env,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    passed = re.search(r"(\d+) passed", result.stdout)
    assert passed and int(passed.group(1)) >= 7, result.stdout
    assert not re.search(r"\d+ (skipped|deselected|xfailed)", result.stdout), result.stdout


@pytest.mark.slow
def test_ln_lstm_and_ln_gru_stack_with_a_builtin_unit_and_learn(plugin_paths):
    sentences = agreement_sentences(60, seed=4)
    vocab = Vocabulary.build(sentences, 20)
    X, Y = training_data(sentences, vocab)
    model = LanguageModel(len(vocab), 6, layers=[("ln_lstm", 6), ("elman", 5), ("ln_gru", 5, {"eps": 1e-3})], seed=1)
    history = model.fit(X, Y, epochs=6, learning_rate=0.02, mu=0.5, batch_size=6)
    assert history[-1] < 0.8 * history[0]
    path = model.save(plugin_paths[1] + "/stack.npz")
    loaded = LanguageModel.load(path)
    assert loaded.config() == model.config()
    assert loaded.score(X, Y) == pytest.approx(model.score(X, Y))
