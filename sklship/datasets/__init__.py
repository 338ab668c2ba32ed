"""Chips and scenes to learn from: the real ShipsNet chips and synthetic ones.

Loads no TensorFlow, so data can be read and drawn without it.
"""

from .shipsnet import load_shipsnet
from .synthetic_chips import make_ships
from .synthetic_scenes import make_scene

__all__ = ["load_shipsnet", "make_scene", "make_ships"]
