"""The package's layout: every module imports, and old module paths still resolve."""

import importlib
import pkgutil

import pytest

import sklship
from sklship._legacy import OLD_MODULES

MODULES = sorted(m.name for m in pkgutil.walk_packages(sklship.__path__, "sklship.")
                 if m.name != "sklship.__main__")


@pytest.mark.parametrize("name", MODULES)
def test_every_module_imports(name):
    module = importlib.import_module(name)
    for public in getattr(module, "__all__", ()):
        assert hasattr(module, public), f"{name}.__all__ names missing {public!r}"


@pytest.mark.parametrize("old, new", sorted(OLD_MODULES.items()))
def test_old_module_paths_give_the_new_modules(old, new):
    assert importlib.import_module(old) is importlib.import_module(new)


def test_top_level_names_come_from_their_rooms():
    for name in sklship.__all__:
        obj = getattr(sklship, name)
        assert obj.__module__.startswith(("sklship.datasets", "sklship.estimators",
                                          "sklship.scenes", "sklship.evaluation")), name
