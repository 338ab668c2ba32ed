"""scikit-learn compatible Keras estimators for ships in satellite images.

The package is laid out by domain: :mod:`sklship.datasets` (chips and
scenes to learn from), :mod:`sklship.estimators` (the chip classifiers),
:mod:`sklship.scenes` (scanning scenes, maps, port activity),
:mod:`sklship.evaluation` (comparing, scoring, calibrating, explaining) and
:mod:`sklship.cli` (the ``sklship`` command). The names below are imported on
first use, so that ``sklship.datasets`` (and anything else that needs no
network) loads without TensorFlow.
"""

from . import _legacy
from ._lazy import lazy_exports
from .datasets import load_shipsnet, make_scene, make_ships

_legacy.install()

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
    "load_example_scene",
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

__getattr__, __dir__ = lazy_exports(__name__, {
    "CNNShipClassifier": ".estimators.cnn",
    "ChipMetadataEncoder": ".estimators.metadata",
    "DenseShipClassifier": ".estimators.dense",
    "DenseShipRegressor": ".estimators.dense",
    "MultiOutputShipClassifier": ".estimators.multi_output",
    "PretrainedShipClassifier": ".estimators.pretrained",
    "ActivityDisplay": ".scenes.display",
    "ScanDisplay": ".scenes.display",
    "WideDeepClassifier": ".estimators.wide_deep",
    "WideDeepRegressor": ".estimators.wide_deep",
    "compare_models": ".evaluation.compare",
    "load_example_scene": ".datasets.example",
    "load_model": ".estimators.persistence",
    "make_baseline": ".estimators.baseline",
    "recommended_model": ".estimators.zoo",
    "save_model": ".estimators.persistence",
    "scan_scene": ".scenes.scan",
    "scan_scenes": ".scenes.survey",
})
