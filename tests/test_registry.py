"""The unit registry: built-ins through the plugin hook, entry-point plugins, and contained failures."""

import importlib
import importlib.metadata
import sys
import textwrap
import warnings

import numpy as np
import pytest

from aerann import units
from aerann.units import PluginWarning, Registry, UnitConflictError
from aerann.units.hooks import ENTRY_POINT_GROUP, hookimpl

PLUGINS = {
    "aerann_test_good": """
        import aerann
        from aerann.units.hooks import hookimpl

        class Tiny(aerann.units.RecurrentUnit):
            name = "tiny"

            def __init__(self, n_in, n_out, rng):
                super().__init__(n_in, n_out)
                self.W = self.param("W", (n_in, n_out))

            def step(self, x_t, h):
                return x_t.dot(self.W) + h

        @hookimpl
        def aerann_register_units():
            return [Tiny]
    """,
    "aerann_test_broken": """
        raise ImportError("this plugin needs a library that is not installed")
    """,
    "aerann_test_bad": """
        import aerann
        from aerann.units.hooks import hookimpl

        class NoStates(aerann.units.RecurrentUnit):
            name = "nostates"
            states = ()

            def step(self, x_t):
                return x_t

        class Nameless(aerann.units.RecurrentUnit):
            def step(self, x_t, h):
                return h

        @hookimpl
        def aerann_register_units():
            return [dict, NoStates, Nameless]
    """,
    "aerann_test_clash": """
        import aerann
        from aerann.units.hooks import hookimpl

        class OtherElman(aerann.units.RecurrentUnit):
            name = "elman"

            def step(self, x_t, h):
                return h

        @hookimpl
        def aerann_register_units():
            return [OtherElman]
    """,
    "aerann_test_silent": """
        def aerann_register_units():
            return []
    """,
}


@pytest.fixture(scope="module")
def installed(tmp_path_factory):
    """A distribution with one entry point per test plugin, installed on sys.path; units reloaded."""
    root = tmp_path_factory.mktemp("site")
    for module, source in PLUGINS.items():
        (root / f"{module}.py").write_text(textwrap.dedent(source))
    info = root / "aerann_test_plugins-1.0.dist-info"
    info.mkdir()
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: aerann-test-plugins\nVersion: 1.0\n")
    lines = [f"[{ENTRY_POINT_GROUP}]"] + [f"{m.split('_')[-1]} = {m}" for m in PLUGINS]
    (info / "entry_points.txt").write_text("\n".join(lines) + "\n")
    sys.path.insert(0, str(root))
    importlib.invalidate_caches()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        registry = units.reload()
    yield registry, [str(w.message) for w in caught if issubclass(w.category, PluginWarning)]
    sys.path.remove(str(root))
    for module in PLUGINS:
        sys.modules.pop(module, None)
    importlib.invalidate_caches()
    units.reload()


def test_builtin_units_are_registered_through_the_plugin_hook():
    registry = Registry(entry_points=[])
    assert sorted(registry.units) == ["elman", "gru", "lstm", "rated"]
    plugin_names = {name for name, _ in registry.manager.list_name_plugin()}
    assert {"aerann.units.elman", "aerann.units.rated", "aerann.units.gru", "aerann.units.lstm"} <= plugin_names
    callers = {impl.plugin_name for impl in registry.manager.hook.aerann_register_units.get_hookimpls()}
    assert "aerann.units.gru" in callers
    assert registry.sources["lstm"] == "built-in (aerann.units.lstm)"
    assert registry.errors == []


def test_an_entry_point_plugin_is_loaded_and_usable(installed):
    registry, _ = installed
    assert "tiny" in units.names()
    assert "aerann-test-plugins 1.0" in units.sources()["tiny"]
    tiny = units.get("tiny")(2, 3, np.random.default_rng(0))
    assert list(tiny.params) == ["W", "h0"]
    assert registry.units["gru"] is units.get("gru")


def test_a_plugin_that_fails_to_import_is_named_and_the_others_still_load(installed):
    _, messages = installed
    broken = [m for m in messages if "aerann_test_broken" in m]
    assert broken and "failed to import" in broken[0] and "not installed" in broken[0]
    assert {"gru", "lstm", "rated", "tiny"} <= set(units.names())


def test_bad_units_are_rejected_with_the_plugin_named(installed):
    _, messages = installed
    bad = [m for m in messages if "aerann_test_bad" in m]
    assert any("not a subclass of aerann.RecurrentUnit" in m for m in bad)
    assert any("states must be a non-empty tuple" in m for m in bad)
    assert any("Nameless" in m and "name must be a non-empty identifier" in m for m in bad)
    assert "nostates" not in units.names()
    assert any("aerann_test_silent" in m and "no @aerann.hookimpl" in m for m in messages)


def test_two_units_with_one_name_are_an_error_naming_both_sources(installed):
    with pytest.raises(UnitConflictError) as raised:
        units.get("elman")
    message = str(raised.value)
    assert "built-in (aerann.units.elman)" in message and "aerann_test_clash" in message
    assert units.sources()["elman"].startswith("CONFLICT")
    assert "elman" not in units.names()


def test_errors_lists_every_problem(installed):
    problems = " ".join(units.errors())
    for module in ("aerann_test_broken", "aerann_test_bad", "aerann_test_clash", "aerann_test_silent"):
        assert module in problems


class Third:
    """A plugin object (not a module) that claims a taken name."""

    @hookimpl
    def aerann_register_units(self):
        from aerann.units.gru import GRU

        class AnotherGRU(GRU):
            pass

        return [AnotherGRU]


class Loader:
    """A stand-in for an entry point: load() returns the plugin object."""

    def __init__(self, name, plugin):
        self.name, self.value, self.dist, self.plugin = name, f"tests:{name}", None, plugin

    def load(self):
        return self.plugin


def test_every_claimant_of_a_name_is_listed():
    with pytest.warns(PluginWarning, match="gru"):
        registry = Registry(entry_points=[Loader("one", Third()), Loader("two", Third())])
    with pytest.raises(UnitConflictError) as raised:
        registry.get("gru")
    message = str(raised.value)
    assert "built-in (aerann.units.gru)" in message and "'one'" in message and "'two'" in message


def test_an_unknown_unit_lists_the_known_ones():
    with pytest.raises(ValueError, match="unknown unit 'nope'.*elman, gru, lstm, rated"):
        Registry(entry_points=[]).get("nope")

