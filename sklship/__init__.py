"""scikit-learn compatible Keras estimators for ships in satellite image chips.

The estimators are imported on first use, so that ``sklship.datasets`` (and
anything else that needs no network) loads without TensorFlow.
"""

import importlib

from .datasets import load_shipsnet, make_scene, make_ships

__all__ = [
    "ActivityDisplay",
    "CNNShipClassifier",
    "ChipMetadataEncoder",
    "DenseShipClassifier",
    "DenseShipRegressor",
    "MultiOutputShipClassifier",
    "PretrainedShipClassifier",
    "ScanDisplay",
    "WideDeepClassifier",
    "WideDeepRegressor",
    "compare_models",
    "load_model",
    "load_shipsnet",
    "make_baseline",
    "make_scene",
    "make_ships",
    "recommended_model",
    "save_model",
    "scan_scene",
    "scan_scenes",
]

__version__ = "0.1.0"

_LAZY = {
    "CNNShipClassifier": ".cnn",
    "ChipMetadataEncoder": ".metadata",
    "DenseShipClassifier": ".dense",
    "DenseShipRegressor": ".dense",
    "MultiOutputShipClassifier": ".multi_output",
    "PretrainedShipClassifier": ".pretrained",
    "ActivityDisplay": ".plotting",
    "ScanDisplay": ".plotting",
    "WideDeepClassifier": ".wide_deep",
    "WideDeepRegressor": ".wide_deep",
    "compare_models": ".compare",
    "load_model": ".persistence",
    "make_baseline": ".baseline",
    "recommended_model": ".recommended",
    "save_model": ".persistence",
    "scan_scene": ".scan",
    "scan_scenes": ".survey",
}


def __getattr__(name):
    if name not in _LAZY:
        raise AttributeError(f"module 'sklship' has no attribute {name!r}")
    return getattr(importlib.import_module(_LAZY[name], __name__), name)


def __dir__():
    return sorted(list(globals()) + list(_LAZY))
