"""The command line's argument types, option groups and errors."""

import argparse
import json
import math
from pathlib import Path
from types import SimpleNamespace

__all__ = ["CommandError", "Parser", "parents"]

# Defaults of the synthetic data: ShipsNet's chip size, few enough chips that
# every command finishes in about a minute on two cores.
SYNTHETIC_SAMPLES = 240
CHIP_SIZE = 80
NATIVE_SUFFIX = ".sklship"


class CommandError(Exception):
    """A failure to report in one line; ``status`` 1 (bad file) or 2 (bad argument)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def bad_file(exc):
    return CommandError(str(exc), 1)


class Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line ``sklship: error: ...`` and status 2."""

    def error(self, message):
        raise CommandError(f"{message} (see '{self.prog} --help')", 2)


def parents():
    """Parent parsers of the option groups that several commands share.

    Returns
    -------
    parents : types.SimpleNamespace
        ``folds`` (``--cv``, ``--group-by-scene``, ``--epochs``) and ``dask``
        (``--scheduler`` or ``--dask-workers``).
    """
    folds = argparse.ArgumentParser(add_help=False)
    folds.add_argument("--cv", type=at_least(2), default=3, metavar="N",
                       help="number of folds (default: %(default)s)")
    folds.add_argument("--group-by-scene", action="store_true",
                       help="keep the chips of one scene in one fold")
    folds.add_argument("--epochs", type=at_least(1), metavar="N",
                       help="epochs of every network (default: each model's own)")
    dask = argparse.ArgumentParser(add_help=False)
    cluster = dask.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="run on the Dask cluster at ADDRESS (e.g. tcp://10.0.0.5:8786)")
    cluster.add_argument("--dask-workers", type=at_least(1), metavar="N",
                         help="start a local Dask cluster of N worker processes")
    return SimpleNamespace(folds=folds, dask=dask)


def add_data_arguments(parser):
    parser.add_argument("--data", type=Path, metavar="PATH",
                        help="ShipsNet chips: a folder of PNGs, a zip or shipsnet.json "
                        "(default: synthetic chips from make_ships)")
    parser.add_argument("--n-samples", type=at_least(20), default=SYNTHETIC_SAMPLES,
                        metavar="N", help="synthetic chips (default: %(default)s)")
    parser.add_argument("--image-size", type=at_least(16), default=CHIP_SIZE,
                        metavar="N", help="synthetic chip side (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the synthetic chips and the models "
                        "(default: %(default)s)")


def add_chip_arguments(parser, metavar, verb, n_samples):
    """A saved model, then PNG chips or the synthetic ones to use without them."""
    parser.add_argument("model_file", type=Path, metavar="MODEL_FILE")
    parser.add_argument("paths", nargs="*", type=Path, metavar=metavar,
                        help="PNG files or folders of them")
    parser.add_argument("--n-samples", type=at_least(1), default=n_samples, metavar="N",
                        help=f"synthetic chips to {verb} without {metavar} "
                        "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic "
                        "chips (default: %(default)s)")


def bounded(convert, limits, ok):
    """An argparse type: ``convert(text)``, which must satisfy ``ok`` (said as ``limits``)."""
    kind = "an integer" if convert is int else "a number"

    def parse(text):
        try:
            value = convert(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected {kind}; got {text!r}") from None
        if not ok(value):
            raise argparse.ArgumentTypeError(f"must be {limits}; got {text}")
        return value

    parse.__name__ = kind.split()[-1]
    return parse


def at_least(minimum):
    return bounded(int, f"at least {minimum}", lambda value: value >= minimum)


def above(minimum):
    """A number above ``minimum`` (e.g. metres per pixel)."""
    return bounded(float, f"above {minimum:g}", lambda value: value > minimum)


probability = bounded(float, "between 0 and 1", lambda value: 0 <= value <= 1)
percent = bounded(float, "between 0 and 100", lambda value: 0 <= value <= 100)


def band_list(text):
    parts = [part.strip() for part in text.split(",")]
    if all(part.isidentifier() for part in parts):  # names: red,green,blue,nir
        return tuple(parts)
    try:
        bands = tuple(int(part) for part in parts)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 1-based band numbers separated by commas (e.g. 3,2,1) or band "
            f"names (e.g. red,green,blue,nir); got {text!r}") from None
    if min(bands) < 1:
        raise argparse.ArgumentTypeError(f"band numbers start at 1; got {text!r}")
    return bands


def scale_range(text):
    from ..scenes.bands import NAMED_SCALES

    if text in NAMED_SCALES:
        return text
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        names = ", ".join(repr(name) for name in NAMED_SCALES)
        raise argparse.ArgumentTypeError(
            f"expected LOW,HIGH (e.g. 0,3000) or one of {names}; got {text!r}"
        ) from None
    if not low < high:
        raise argparse.ArgumentTypeError(f"LOW must be below HIGH; got {text!r}")
    return low, high


def reflectance_pairs(text):
    """SCALE,OFFSET, or one SCALE,OFFSET per band: (scale, offset) or ((scale, offset), ...)."""
    try:
        values = [float(part) for part in text.split(",")]
    except ValueError:
        values = []
    if not values or len(values) % 2 or not all(map(math.isfinite, values)) \
            or 0 in values[::2]:
        raise argparse.ArgumentTypeError(
            f"expected SCALE,OFFSET (e.g. 0.0001,-0.1) or one such pair per band, "
            f"scales not 0; got {text!r}")
    pairs = tuple(zip(values[::2], values[1::2], strict=True))
    return pairs[0] if len(pairs) == 1 else pairs


def key_value(text):
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE; got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value
