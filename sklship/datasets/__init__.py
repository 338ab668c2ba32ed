"""Chips and scenes to learn from: ShipsNet chips, synthetic ones, marked scenes.

Also ship marks (:func:`read_truth`) and the example scene that ships with the
package (:func:`load_example_scene`).
Loads no TensorFlow, so data can be read and drawn without it.
"""

from .._lazy import lazy_exports
from .shipsnet import load_shipsnet
from .synthetic_chips import make_ships
from .synthetic_scenes import make_scene

__all__ = ["load_example_scene", "load_marked_scenes", "load_shipsnet", "make_scene",
           "make_ships", "read_truth"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "load_example_scene": ".example",
    "load_marked_scenes": ".marked_scenes",
    "read_truth": ".truth",
})
