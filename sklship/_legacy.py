"""The module paths of sklship 0.1's flat layout, for files saved by it.

joblib files and native ``.sklship`` files name the classes and functions
they hold by module path (``sklship.cnn.CNNShipClassifier``). Since the
package was laid out by domain those modules live elsewhere; this finder
answers an import of an old path with the module that now holds the same
code, so files saved before keep loading. It only ever answers the names in
:data:`OLD_MODULES`, none of which exists any more, so it shadows nothing.
New code should import the new paths.
"""

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["OLD_MODULES"]

#: Old module path -> the module that holds its code now.
OLD_MODULES = {
    "sklship._base": "sklship.estimators.base",
    "sklship.baseline": "sklship.estimators.baseline",
    "sklship.cnn": "sklship.estimators.cnn",
    "sklship.dense": "sklship.estimators.dense",
    "sklship.keras_objects": "sklship.estimators.layers",
    "sklship.metadata": "sklship.estimators.metadata",
    "sklship.multi_output": "sklship.estimators.multi_output",
    "sklship.networks": "sklship.estimators.networks",
    "sklship.persistence": "sklship.estimators.persistence",
    "sklship.pretrained": "sklship.estimators.pretrained",
    "sklship.recommended": "sklship.estimators.zoo",
    "sklship.symmetry": "sklship.estimators.symmetry",
    "sklship.tflite_weights": "sklship.estimators.tflite_weights",
    "sklship.wide_deep": "sklship.estimators.wide_deep",
    "sklship.thresholds": "sklship.evaluation.thresholds",
}


class _OldPathFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Import hook: an old module path gives the module now holding its code."""

    def find_spec(self, fullname, path=None, target=None):
        if fullname not in OLD_MODULES:
            return None
        return importlib.util.spec_from_loader(fullname, self)

    def create_module(self, spec):
        return importlib.import_module(OLD_MODULES[spec.name])

    def exec_module(self, module):
        """Nothing to run: the module was imported under its new path."""


def install():
    """Put the finder at the end of ``sys.meta_path`` (once)."""
    if not any(isinstance(finder, _OldPathFinder) for finder in sys.meta_path):
        sys.meta_path.append(_OldPathFinder())
