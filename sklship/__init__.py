"""scikit-learn compatible Keras estimators for ships in satellite image chips.

The estimators are imported on first use, so that ``sklship.datasets`` (and
anything else that needs no network) loads without TensorFlow.
"""

import importlib

from .datasets import load_shipsnet, make_ships

__all__ = [
    "CNNShipClassifier",
    "DenseShipClassifier",
    "DenseShipRegressor",
    "PretrainedShipClassifier",
    "ScanDisplay",
    "load_shipsnet",
    "make_baseline",
    "make_scene",
    "make_ships",
    "scan_scene",
]

__version__ = "0.1.0"

_LAZY = {
    "CNNShipClassifier": ".cnn",
    "DenseShipClassifier": ".dense",
    "DenseShipRegressor": ".dense",
    "PretrainedShipClassifier": ".pretrained",
    "ScanDisplay": ".plotting",
    "make_baseline": ".baseline",
    "make_scene": ".scan",
    "scan_scene": ".scan",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'sklship' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
