"""The subclassing contract of the Keras estimators (estimators/base.py).

Each family overrides only the hooks the base documents; the one required
hook is abstract.
"""

import importlib

import pytest

from sklship.estimators.base import HOOKS, ShipKerasMixin
from sklship.estimators.tasks import ShipClassifierBase, ShipRegressorBase

FAMILY_MODULES = ("dense", "cnn", "pretrained", "wide_deep", "multi_output")
# What every class defines again: Python's own, and sklearn's declared parameters.
NOT_OVERRIDES = {"__init__", "__doc__", "__module__", "__qualname__", "__dict__",
                 "__weakref__", "__abstractmethods__", "_abc_impl", "__firstlineno__",
                 "__static_attributes__", "_parameter_constraints"}
TASKS = (ShipClassifierBase, ShipRegressorBase)


def _families():
    for module in FAMILY_MODULES:
        importlib.import_module(f"sklship.estimators.{module}")
    found, todo = [], list(TASKS)
    while todo:
        for cls in todo.pop().__subclasses__():
            todo.append(cls)
            if cls.__module__.startswith("sklship.") and cls not in found:
                found.append(cls)
    return found


FAMILIES = _families()


def _metadata_request(name):
    """sklearn writes ``set_<method>_request`` into every class with a fit's arguments."""
    return name.startswith("set_") and name.endswith("_request")


def test_every_family_is_found():
    names = {cls.__name__ for cls in FAMILIES}
    assert names == {"DenseShipClassifier", "DenseShipRegressor", "CNNShipClassifier",
                     "PretrainedShipClassifier", "WideDeepClassifier",
                     "WideDeepRegressor", "MultiOutputShipClassifier"}


@pytest.mark.parametrize("family", FAMILIES, ids=lambda cls: cls.__name__)
def test_families_override_only_documented_hooks(family):
    task = next(base for base in TASKS if issubclass(family, base))
    inherited = set().union(*(vars(cls) for cls in task.__mro__))
    # The family's own classes: itself, its mixins and the families it extends.
    own = [cls for cls in family.__mro__ if cls not in task.__mro__]
    overridden = {name for cls in own for name in vars(cls)
                  if name in inherited and not _metadata_request(name)} - NOT_OVERRIDES
    assert overridden <= HOOKS, sorted(overridden - HOOKS)


def test_hooks_are_documented_and_exist():
    for hook in HOOKS:
        assert f"``{hook}" in ShipKerasMixin.__doc__, hook
        for task in TASKS:
            assert hasattr(task, hook), (task.__name__, hook)


def test_the_body_is_required():
    assert ShipClassifierBase.__abstractmethods__ == frozenset({"_build_body"})
    assert ShipRegressorBase.__abstractmethods__ == frozenset({"_build_body"})
    with pytest.raises(TypeError, match="_build_body"):
        ShipClassifierBase()

    class NoBody(ShipRegressorBase):
        def __init__(self, epochs=1):
            self.epochs = epochs

    with pytest.raises(TypeError, match="abstract method '?_build_body"):
        NoBody()
    for family in FAMILIES:
        assert not family.__abstractmethods__, family.__name__
