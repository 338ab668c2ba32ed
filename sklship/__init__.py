"""scikit-learn compatible Keras estimators for ships in satellite image chips."""

from .baseline import make_baseline
from .cnn import CNNShipClassifier
from .datasets import load_shipsnet, make_ships
from .dense import DenseShipClassifier, DenseShipRegressor

__all__ = [
    "CNNShipClassifier",
    "DenseShipClassifier",
    "DenseShipRegressor",
    "load_shipsnet",
    "make_baseline",
    "make_ships",
]

__version__ = "0.1.0"
