"""``theano.config``: Aesara's configuration under Theano's names.

Theano grouped its settings in dotted sections (``theano.config.warn.round``);
Aesara keeps the same settings flat, joined by two underscores
(``aesara.config.warn__round``).  :data:`config` reads and sets Aesara's
settings under either spelling, so ``theano.config.floatX = "float32"`` in a
script changes the floatX of every variable created after it, as in Theano.
A name Aesara has no setting for raises an AttributeError that names it.
"""

import aesara

from aerann.theano import unsupported


class TheanoConfig:
    """``theano.config`` (or one of its sections, such as ``theano.config.warn``) over ``aesara.config``."""

    def __init__(self, prefix: str = ""):
        object.__setattr__(self, "_prefix", prefix)

    @staticmethod
    def _settings():
        return aesara.config._config_var_dict

    def _theano_name(self, name: str) -> str:
        return "theano.config." + (self._prefix + name).replace("__", ".")

    def __getattr__(self, name):
        full = self._prefix + name
        if full in self._settings():
            return getattr(aesara.config, full)
        if any(setting.startswith(full + "__") for setting in self._settings()):
            return TheanoConfig(full + "__")
        raise AttributeError(unsupported.message(self._theano_name(name)), name=name)

    def __setattr__(self, name, value):
        full = self._prefix + name
        if full not in self._settings():
            raise AttributeError(unsupported.message(self._theano_name(name)), name=name)
        setattr(aesara.config, full, value)

    def __dir__(self):
        prefix = self._prefix
        return sorted({s[len(prefix):].split("__")[0] for s in self._settings() if s.startswith(prefix)})

    def __repr__(self):
        return f"<theano.config{'.' + self._prefix[:-2].replace('__', '.') if self._prefix else ''} (aesara.config)>"


config = TheanoConfig()


def change_flags(*dicts, **settings):
    """Theano's ``change_flags``: settings (``floatX="float32"``, ``{"warn.round": False}``) changed inside a
    ``with`` block or a decorated function, and restored after it (Aesara's ``config.change_flags``)."""
    merged = {name: value for given in dicts for name, value in given.items()}
    merged.update(settings)
    return aesara.config.change_flags(**{name.replace(".", "__"): value for name, value in merged.items()})
