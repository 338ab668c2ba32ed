"""The ``sklship`` command: compare, train, predict, explain, search, scan and activity.

Argument parsing and output only; the work is done by the library
(:func:`~sklship.compare.compare_models`, :mod:`sklship.persistence`,
:mod:`sklship.thresholds`, :mod:`sklship.explain`,
:func:`~sklship.scan.scan_scene`, :mod:`sklship.plotting`). Every command runs
without data arguments on synthetic chips from :func:`~sklship.make_ships`.
Results (tables, CSV) go to standard output or files; messages go through
:mod:`logging` to standard error (``-q`` leaves warnings only, ``-v`` adds
debug messages), and progress bars appear only on a terminal.
Exit status: 0 on success, 2 for bad arguments, 1 for missing or bad files.
"""

import argparse
import json
import logging
import os
import re
import sys
from contextlib import ExitStack
from pathlib import Path

__all__ = ["main"]

log = logging.getLogger("sklship")

# Defaults of the synthetic data: ShipsNet's chip size, few enough chips that
# every command finishes in about a minute on two cores.
_SYNTHETIC_SAMPLES = 240
_CHIP_SIZE = 80
_NATIVE_SUFFIX = ".sklship"


# --------------------------------------------------------------------------
# Named models and grids (what the ``sklship`` command line offers)
# --------------------------------------------------------------------------

#: Model names, what they are, and whether ``sklship compare`` runs them by default.
MODELS = {
    "baseline": ("standardised logistic regression on pixels (make_baseline)", True),
    "dense": ("the book's dense network: 4 sigmoid units, Adam, 20% validation, "
              "book class weights", True),
    "cnn": ("the book's CNN: Conv2D 8 -> Conv2D 4 -> Dense 1, Adam, book class "
            "weights", True),
    "recommended": ("sklship's recommended CNN for new scenes (recommended_model: "
                    "4 conv blocks, augmentation, up to 30 epochs)", False),
    "pretrained": ("MobileNetV2 ImageNet features at 96 px with a sigmoid head "
                   "(needs the Keras ImageNet weights file)", False),
}

#: Named grids for ``sklship search``: name -> (model name, parameter grid).
GRIDS = {
    "pooling": ("cnn", {"pooling": [None, "max"]}),
    "architectures": ("cnn", {"filters": [(8, 4), (16, 8)], "pooling": [None, "max"]}),
    "cnn-depth": ("cnn", {"filters": [(8, 4), (16, 8), (16, 16, 8)], "pooling": ["max"],
                          "dense_units": [(), (32,)]}),
    "dense-layers": ("dense", {"hidden_units": [(4,), (64,), (256, 128, 64, 32)],
                               "activation": ["sigmoid", "relu"]}),
    "baseline-C": ("baseline", {"logistic__C": [0.01, 0.1, 1.0]}),
}


def make_model(name, y=None, *, random_state=None):
    """A fresh model by name (see ``MODELS``), as ``sklship`` runs it.

    Parameters
    ----------
    name : str
        A key of ``MODELS``.
    y : array-like of shape (n_samples,) or None, default=None
        0/1 training labels, for the book's class weights; None leaves the
        classes unweighted.
    random_state : int or None, default=None
        Seed of the model.

    Returns
    -------
    estimator : estimator
        Unfitted.
    """
    import numpy as np

    from . import CNNShipClassifier, DenseShipClassifier, PretrainedShipClassifier
    from .baseline import make_baseline

    if name not in MODELS:
        raise ValueError(f"model must be one of {sorted(MODELS)}; got {name!r}.")
    ship_share = None if y is None else float(np.mean(np.asarray(y) == 1))
    # The book's class weights {0: mean(y), 1: 1 - mean(y)}.
    weights = None if y is None else {0: ship_share, 1: 1.0 - ship_share}
    if name == "baseline":
        return make_baseline(random_state=random_state)
    if name == "dense":
        return DenseShipClassifier((4,), activation="sigmoid", optimizer="adam",
                                   learning_rate=None, validation_split=0.2,
                                   class_weight=weights, random_state=random_state)
    if name == "cnn":
        return CNNShipClassifier(class_weight=weights, random_state=random_state)
    if name == "recommended":
        from .recommended import recommended_model

        return recommended_model(random_state=random_state)
    return PretrainedShipClassifier("mobilenetv2", input_size=96, class_weight=weights,
                                    random_state=random_state)


class CommandError(Exception):
    """A failure to report in one line; ``status`` 1 (bad file) or 2 (bad argument)."""

    def __init__(self, message, status):
        super().__init__(message)
        self.status = status


def _bad_file(exc):
    return CommandError(str(exc), 1)


class _Parser(argparse.ArgumentParser):
    """argparse, with its errors as one line ``sklship: error: ...`` and status 2."""

    def error(self, message):
        raise CommandError(f"{message} (see '{self.prog} --help')", 2)


def main(argv=None):
    """Run the ``sklship`` command line.

    Parameters
    ----------
    argv : list of str or None, default=None
        Arguments without the program name; None reads ``sys.argv``.

    Returns
    -------
    status : int
        0 on success, 1 for a missing or bad file, 2 for bad arguments.
    """
    from threadpoolctl import threadpool_limits

    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    logging.getLogger("tensorflow").setLevel(logging.ERROR)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_MessageFormatter())
    log.addHandler(handler)
    try:
        args = _parser().parse_args(argv)
        log.setLevel(logging.WARNING if args.quiet else
                     logging.DEBUG if args.verbose else logging.INFO)
        # One BLAS thread: TensorFlow keeps the cores busy with its own pools,
        # and OpenBLAS threads spinning against them made the logistic
        # baseline 30x slower on two cores (67 s instead of 2 s per fit).
        with threadpool_limits(limits=1, user_api="blas"):
            return args.run(args) or 0
    except CommandError as exc:
        log.error(exc)
        return exc.status
    except KeyboardInterrupt:
        log.error("interrupted")
        return 130
    finally:
        log.removeHandler(handler)


class _MessageFormatter(logging.Formatter):
    """Messages as the command writes them: "sklship: note: ..." for warnings."""

    _PREFIX = {logging.WARNING: "sklship: note: ", logging.ERROR: "sklship: error: ",
               logging.DEBUG: "sklship: debug: "}

    def format(self, record):
        return self._PREFIX.get(record.levelno, "") + super().format(record)


# --------------------------------------------------------------------------
# Arguments
# --------------------------------------------------------------------------


def _parser():
    from . import __version__

    parser = _Parser(prog="sklship", description="Find ships in satellite image chips "
                     "with scikit-learn compatible Keras models.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    # Options of every command.
    common = argparse.ArgumentParser(add_help=False)
    talk = common.add_mutually_exclusive_group()
    talk.add_argument("-q", "--quiet", action="store_true",
                      help="only warnings and errors on standard error")
    talk.add_argument("-v", "--verbose", action="store_true",
                      help="also debug messages on standard error")
    common.add_argument("--no-progress", dest="progress", action="store_false",
                        help="no progress bars (they appear only on a terminal)")
    commands = parser.add_subparsers(title="commands", required=True, metavar="COMMAND")

    compare = commands.add_parser(
        "compare", parents=[common], help="cross-validate models and tabulate their scores",
        description="Cross-validate models on the same folds; write results.csv, "
        "results.md (scores, Brier score and log loss of the probabilities), "
        "calibration.png (reliability diagram of the out-of-fold probabilities) "
        "and, per model, a confusion matrix, learning curves and the "
        "misclassified chips as PNG.")
    _add_data_arguments(compare)
    compare.add_argument("--models", nargs="+", choices=sorted(MODELS), metavar="NAME",
                         default=[name for name, (_, default) in MODELS.items() if default],
                         help="models to compare, of: " + ", ".join(
                             f"{name} ({text})" for name, (text, _) in MODELS.items())
                         + " (default: %(default)s)")
    compare.add_argument("--cv", type=_at_least(2), default=3, metavar="N",
                         help="number of folds (default: %(default)s)")
    compare.add_argument("--group-by-scene", action="store_true",
                         help="keep the chips of one scene in one fold")
    compare.add_argument("--epochs", type=_at_least(1), metavar="N",
                         help="epochs of every network (default: each model's own)")
    compare.add_argument("--out", type=Path, default=Path("sklship-compare"),
                         metavar="DIR", help="output folder (default: %(default)s)")
    compare.set_defaults(run=_compare)

    train = commands.add_parser(
        "train", parents=[common], help="fit one model on all chips and save it",
        description="Fit a model on all chips and save it: a .joblib name writes "
        "joblib (pickle), any other name sklship's pickle-free native format. "
        "--calibrate calibrates its probabilities (CalibratedClassifierCV); "
        "--threshold or --tune-threshold sets the probability at which it says "
        "'ship' (FixedThresholdClassifier, TunedThresholdClassifierCV), saved "
        "with the model and used by predict and scan.")
    _add_data_arguments(train)
    train.add_argument("--model", choices=sorted(MODELS), default="cnn",
                       help="model to train (default: %(default)s)")
    train.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       type=_key_value, help="set a model parameter; VALUE is JSON "
                       "(3, 0.01, [16,8], null) or else a string; repeatable")
    train.add_argument("--out", type=Path, default=Path("model" + _NATIVE_SUFFIX),
                       metavar="FILE", help="model file to write (default: %(default)s)")
    train.add_argument("--calibrate", choices=["sigmoid", "isotonic"],
                       help="calibrate the probabilities on --cv folds: sigmoid (Platt; "
                       "few chips) or isotonic (some thousand chips)")
    cut = train.add_mutually_exclusive_group()
    cut.add_argument("--threshold", type=_probability, metavar="T",
                     help="say 'ship' from probability T on (default: 0.5)")
    cut.add_argument("--tune-threshold", metavar="METRIC",
                     help="choose the threshold maximising a scikit-learn score "
                     "(balanced_accuracy, f1, precision, recall, ...) on --cv folds")
    train.add_argument("--cv", type=_at_least(2), default=3, metavar="N",
                       help="folds for --calibrate and --tune-threshold "
                       "(default: %(default)s)")
    train.set_defaults(run=_train)

    predict = commands.add_parser(
        "predict", parents=[common], help="classify PNG chips with a saved model",
        description="Classify PNG chips (files or folders of them) with a model "
        "saved by 'sklship train'; without PATH, synthetic chips. Writes CSV: "
        "file, probability (of a ship), label.")
    _add_chip_arguments(predict, "PATH", "classify", 20)
    predict.add_argument("--image-size", type=_at_least(16), metavar="N",
                         help="side of the synthetic chips (default: the model's "
                         f"input size, else {_CHIP_SIZE})")
    predict.add_argument("--threshold", type=_probability, metavar="T",
                         help="label a chip a ship from probability T on (default: "
                         "the threshold saved with the model, else 0.5)")
    predict.add_argument("--out", type=Path, metavar="FILE",
                         help="CSV file to write (default: standard output)")
    predict.set_defaults(run=_predict)

    explain = commands.add_parser(
        "explain", parents=[common], help="show where a model sees ships (Grad-CAM)",
        description="Grad-CAM heat maps of a saved convolutional model over PNG chips "
        "(files or folders of them; without CHIP, synthetic chips): writes "
        "DIR/grad_cam.png, each chip with its heat map and ship probability.")
    _add_chip_arguments(explain, "CHIP", "explain", 12)
    explain.add_argument("--layer", metavar="NAME",
                         help="layer of the network to explain (default: its last "
                         "feature map of at least 2x2)")
    explain.add_argument("--columns", type=_at_least(1), default=6, metavar="N",
                         help="chips per row of the grid (default: %(default)s)")
    explain.add_argument("--out", type=Path, default=Path("sklship-explain"),
                         metavar="DIR", help="output folder (default: %(default)s)")
    explain.set_defaults(run=_explain)

    search = commands.add_parser(
        "search", parents=[common],
        help="grid search over parameters, optionally on a Dask cluster",
        description="GridSearchCV over a named grid or one given as JSON; writes "
        "cv_results.csv and the refitted best model.")
    _add_data_arguments(search)
    search.add_argument("--grid", default="pooling", metavar="GRID",
                        help="a named grid (" + "; ".join(
                            f"{name}: {model} {grid}" for name, (model, grid)
                            in GRIDS.items()) + "), a JSON object of parameter "
                        "lists, or a JSON file (default: %(default)s)")
    search.add_argument("--model", choices=sorted(MODELS),
                        help="model to search (default: the named grid's, else cnn)")
    search.add_argument("--cv", type=_at_least(2), default=3, metavar="N",
                        help="number of folds (default: %(default)s)")
    search.add_argument("--group-by-scene", action="store_true",
                        help="keep the chips of one scene in one fold")
    search.add_argument("--scoring", default="balanced_accuracy",
                        help="scikit-learn scorer name (default: %(default)s)")
    search.add_argument("--epochs", type=_at_least(1), metavar="N",
                        help="epochs of the network (default: the model's own)")
    cluster = search.add_mutually_exclusive_group()
    cluster.add_argument("--scheduler", metavar="ADDRESS",
                         help="run the fits on the Dask cluster at ADDRESS "
                         "(e.g. tcp://10.0.0.5:8786)")
    cluster.add_argument("--dask-workers", type=_at_least(1), metavar="N",
                         help="start a local Dask cluster of N worker processes")
    search.add_argument("--out", type=Path, default=Path("sklship-search"),
                        metavar="DIR", help="output folder (default: %(default)s)")
    search.set_defaults(run=_search)

    scan = commands.add_parser(
        "scan", parents=[common], help="find and count ships in whole scenes",
        description="Slide a saved chip model over scenes (GeoTIFF/COG, read window "
        "by window, or PNG/JPEG); write detections.csv, detections.geojson (lon/lat "
        "of georeferenced scenes), counts.csv (per scene and area of interest) and "
        "an overlay PNG per scene. Scenes done before (DIR/scenes/) are skipped "
        "unless --overwrite, so an interrupted run can be restarted. Without "
        "MODEL_FILE a CNN is trained on synthetic chips first; without SCENE a "
        "synthetic scene is scanned.")
    scan.add_argument("files", nargs="*", type=Path, metavar="MODEL_FILE [SCENE ...]",
                      help="a model saved by 'sklship train', then scene files")
    scan.add_argument("--aoi", type=Path, metavar="GEOJSON",
                      help="areas of interest (e.g. port waters): GeoJSON polygons in "
                      "lon/lat named by their 'name' property; only ships inside count, "
                      "per area")
    scan.add_argument("--bands", type=_bands, metavar="B,G,R",
                      help="1-based bands making the chips' red, green, blue, e.g. "
                      "3,2,1 for a 4-band PlanetScope analytic scene (default: the "
                      "first three)")
    scan.add_argument("--scale", type=_scale, metavar="LOW,HIGH|percentile",
                      help="map LOW..HIGH to 0..255 (clipping outside), or "
                      "'percentile' (percentiles 2 and 98); required for scenes that "
                      "are not 8-bit")
    scan.add_argument("--date-pattern", metavar="REGEX",
                      help="regular expression with named groups year, month, day "
                      "(hour, minute, second) finding the date in file names, e.g. "
                      "'(?P<year>\\d{4})-(?P<month>\\d\\d)-(?P<day>\\d\\d)' "
                      "(default: tags acquired / TIFFTAG_DATETIME, then PlanetScope ids "
                      "YYYYMMDD_HHMMSS_xxxx)")
    scan.add_argument("--overwrite", action="store_true",
                      help="scan scenes again that DIR/scenes/ holds results for")
    scan_cluster = scan.add_mutually_exclusive_group()
    scan_cluster.add_argument("--scheduler", metavar="ADDRESS",
                              help="scan the scenes on the Dask cluster at ADDRESS")
    scan_cluster.add_argument("--dask-workers", type=_at_least(1), metavar="N",
                              help="scan on a local Dask cluster of N worker processes")
    scan.add_argument("--stride", type=_at_least(1), metavar="S",
                      help="step between windows in pixels (default: the largest power of "
                      "two not above window / 8, 8 for 80-pixel chips)")
    scan.add_argument("--threshold", type=_probability, metavar="T",
                      help="ship probability that counts (default: the threshold saved "
                      "with the model, else 0.5)")
    scan.add_argument("--min-neighbors", type=int, choices=range(9), metavar="K",
                      help="neighbouring windows that must reach the threshold too, "
                      "0 to 8 (default: 1 at strides up to window / 8, else 0)")
    scan.add_argument("--scene-size", type=_at_least(16), default=800, metavar="N",
                      help="side of the synthetic scene (default: %(default)s)")
    scan.add_argument("--n-ships", type=_at_least(0), default=8, metavar="N",
                      help="ships in the synthetic scene (default: %(default)s)")
    scan.add_argument("--n-samples", type=_at_least(20), default=_SYNTHETIC_SAMPLES,
                      metavar="N", help="synthetic chips to train the model on "
                      "(default: %(default)s)")
    scan.add_argument("--image-size", type=_at_least(16), default=_CHIP_SIZE,
                      metavar="N", help="synthetic chip side (default: %(default)s)")
    scan.add_argument("--epochs", type=_at_least(1), default=5, metavar="N",
                      help="epochs of the synthetic model (default: %(default)s)")
    scan.add_argument("--seed", type=int, default=0,
                      help="seed of the synthetic data and model (default: %(default)s)")
    scan.add_argument("--out", type=Path, default=Path("sklship-scan"), metavar="DIR",
                      help="output folder (default: %(default)s)")
    scan.set_defaults(run=_scan)

    activity = commands.add_parser(
        "activity", parents=[common], help="ships per port and period from scan counts",
        description="Turn counts.csv files of 'sklship scan' into a port-activity "
        "time series: activity.csv (aoi, period, n_scenes, mean_ships, max_ships) "
        "and activity.png (one line per area; the number of scenes behind each "
        "point is written beside it). Rows without a datetime, or whose area had "
        "too little valid data, are left out with a message.")
    activity.add_argument("counts", nargs="+", type=Path, metavar="COUNTS_CSV")
    activity.add_argument("--freq", choices=["D", "W", "M"], default="W",
                          help="period: day, week or month (default: %(default)s)")
    activity.add_argument("--min-valid-fraction", type=_probability, default=0.5,
                          metavar="F", help="leave out counts of areas with less "
                          "valid data (default: %(default)s)")
    activity.add_argument("--out", type=Path, default=Path("sklship-activity"),
                          metavar="DIR", help="output folder (default: %(default)s)")
    activity.set_defaults(run=_activity)

    return parser


def _add_data_arguments(parser):
    parser.add_argument("--data", type=Path, metavar="PATH",
                        help="ShipsNet chips: a folder of PNGs, a zip or shipsnet.json "
                        "(default: synthetic chips from make_ships)")
    parser.add_argument("--n-samples", type=_at_least(20), default=_SYNTHETIC_SAMPLES,
                        metavar="N", help="synthetic chips (default: %(default)s)")
    parser.add_argument("--image-size", type=_at_least(16), default=_CHIP_SIZE,
                        metavar="N", help="synthetic chip side (default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0,
                        help="seed of the synthetic chips and the models "
                        "(default: %(default)s)")


def _add_chip_arguments(parser, metavar, verb, n_samples):
    """A saved model, then PNG chips or the synthetic ones to use without them."""
    parser.add_argument("model_file", type=Path, metavar="MODEL_FILE")
    parser.add_argument("paths", nargs="*", type=Path, metavar=metavar,
                        help="PNG files or folders of them")
    parser.add_argument("--n-samples", type=_at_least(1), default=n_samples, metavar="N",
                        help=f"synthetic chips to {verb} without {metavar} "
                        "(default: %(default)s)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the synthetic "
                        "chips (default: %(default)s)")


def _at_least(minimum):
    def parse(text):
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"expected an integer; got {text!r}") from None
        if value < minimum:
            raise argparse.ArgumentTypeError(f"must be at least {minimum}; got {value}")
        return value

    parse.__name__ = "integer"
    return parse


def _probability(text):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number; got {text!r}") from None
    if not 0 <= value <= 1:
        raise argparse.ArgumentTypeError(f"must be between 0 and 1; got {value}")
    return value


def _bands(text):
    try:
        bands = tuple(int(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected 1-based band numbers separated by commas, e.g. 3,2,1; got {text!r}"
        ) from None
    if min(bands) < 1:
        raise argparse.ArgumentTypeError(f"band numbers start at 1; got {text!r}")
    return bands


def _scale(text):
    if text == "percentile":
        return text
    try:
        low, high = (float(part) for part in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected LOW,HIGH (e.g. 0,3000) or 'percentile'; got {text!r}"
        ) from None
    if not low < high:
        raise argparse.ArgumentTypeError(f"LOW must be below HIGH; got {text!r}")
    return low, high


def _key_value(text):
    key, sep, value = text.partition("=")
    if not sep or not key.isidentifier():
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE; got {text!r}")
    try:
        return key, json.loads(value)
    except json.JSONDecodeError:
        return key, value


# --------------------------------------------------------------------------
# Shared steps
# --------------------------------------------------------------------------


def _load_data(args):
    """(X, y, scene ids, description) from --data, else synthetic chips."""
    from .datasets import load_shipsnet, make_ships

    if args.data is None:
        data = make_ships(args.n_samples, image_size=args.image_size,
                          random_state=args.seed)
        what = (f"{len(data.target)} synthetic {args.image_size}x{args.image_size} "
                "chips (make_ships)")
    else:
        try:
            data = load_shipsnet(args.data)
        except (OSError, ValueError) as exc:
            raise _bad_file(exc) from exc
        what = f"{len(data.target)} chips from {args.data}"
    n_ships = int(data.target.sum())
    return (data.images, data.target, data.scene_id,
            f"{what}: {n_ships} ships, {len(data.target) - n_ships} without")


def _configured(name, y, seed, epochs=None, params=()):
    """The named model with the seed, epochs and KEY=VALUE parameters applied."""

    model = make_model(name, y, random_state=seed)
    settable = model.get_params()
    updates = {"epochs": epochs} if epochs is not None and "epochs" in settable else {}
    for key, value in params:
        if key not in settable:
            raise CommandError(
                f"--param {key}: {name} has no parameter {key!r}; it has "
                f"{', '.join(sorted(k for k in settable if '__' not in k))}", 2)
        updates[key] = value
    return model.set_params(**updates)


def _save_estimator(estimator, path):
    """Write a .joblib file with joblib, anything else in the native format."""
    import joblib

    from ._io import atomic_path
    from .persistence import save_model

    try:
        if path.suffix == ".joblib":
            with atomic_path(path) as tmp:
                joblib.dump(estimator, tmp)
        else:
            save_model(estimator, path)
    except TypeError as exc:
        raise CommandError(f"--out {path}: {exc}", 2) from exc
    except OSError as exc:
        raise _bad_file(exc) from exc


def _load_estimator(path):
    """A model file written by 'sklship train' (joblib or native)."""
    import joblib

    from .persistence import load_model

    try:
        if path.suffix == ".joblib":
            if not path.is_file():
                raise FileNotFoundError(f"model file {path} does not exist.")
            return joblib.load(path)
        return load_model(path)
    except (OSError, ValueError, EOFError) as exc:
        raise _bad_file(exc) from exc


def _out_folder(path):
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise _bad_file(exc) from exc
    return path


def _write_text(path, text):
    from ._io import atomic_write

    try:
        with atomic_write(path) as file:
            file.write(text)
    except OSError as exc:
        raise _bad_file(exc) from exc


def _save_display(display, path):
    """Write a display's figure (a bad file on failure), then close it."""
    import matplotlib.pyplot as plt

    try:
        display.savefig(path)
    except OSError as exc:
        raise _bad_file(exc) from exc
    finally:
        plt.close(display.figure_)


def _fitting(step):
    """Run a fit or search; parameter errors become bad-argument errors."""
    try:
        return step()
    except (ValueError, TypeError) as exc:
        raise CommandError(str(exc).splitlines()[0], 2) from exc


def _file_stem(name):
    return re.sub(r"[^\w.-]+", "_", str(name))


# --------------------------------------------------------------------------
# compare
# --------------------------------------------------------------------------


def _compare(args):
    import matplotlib

    matplotlib.use("Agg")
    from .compare import compare_models, format_table

    X, y, scenes, what = _load_data(args)
    out = _out_folder(args.out)
    models = {name: _configured(name, y, args.seed, args.epochs)
              for name in dict.fromkeys(args.models)}
    groups = scenes if args.group_by_scene else None
    split = (f"{args.cv}-fold stratified group cross-validation by scene "
             f"({len(set(scenes))} scenes)" if groups is not None
             else f"{args.cv}-fold stratified cross-validation")
    log.info(f"Comparing {', '.join(models)} on {what}; {split}.")
    table, details = _fitting(lambda: compare_models(
        models, X, y, cv=args.cv, groups=groups, progress=args.progress,
        return_details=True))

    pretty = format_table(table)
    markdown = pretty.to_markdown(disable_numparse=True)
    print(markdown)
    _write_text(out / "results.csv", table.to_csv())
    _write_text(out / "results.md", f"# sklship compare\n\n{what}; {split}. Scores: "
                f"mean ± standard deviation over the folds.\n\n{markdown}\n")
    for name, detail in details.items():
        _write_model_plots(out, name, detail, X, y)
    _write_calibration_plot(out, details, y)
    log.info(f"Wrote results.csv, results.md and plots to {out}")


def _write_calibration_plot(out, details, y):
    """calibration.png: the reliability diagram of every model with probabilities."""
    import matplotlib.pyplot as plt

    from .plotting import plot_calibration_curves, save_figure

    curves = {name: (y[detail.indices], detail.proba) for name, detail in details.items()
              if detail.proba is not None}
    if not curves:
        return
    try:
        n_chips = len(next(iter(curves.values()))[0])
        displays = plot_calibration_curves(
            curves, title=f"Reliability of out-of-fold probabilities (n = {n_chips})")
        save_figure(next(iter(displays.values())).figure_, out / "calibration.png")
    except OSError as exc:
        raise _bad_file(exc) from exc
    finally:
        plt.close("all")


def _write_model_plots(out, name, detail, X, y):
    import matplotlib.pyplot as plt

    from .plotting import (
        MisclassifiedChipsDisplay,
        TrainingHistoryDisplay,
        plot_confusion_matrix,
        save_figure,
    )

    stem = _file_stem(name)
    X, y = X[detail.indices], y[detail.indices]  # the samples some fold tested
    try:
        matrix = plot_confusion_matrix(
            y, detail.y_pred, title=f"{name}: out-of-fold predictions (n = {len(y)})")
        save_figure(matrix.figure_, out / f"{stem}_confusion.png")
        if any(hasattr(e, "history_") for e in detail.estimators):
            history = TrainingHistoryDisplay.from_estimators(
                detail.estimators, title=f"{name}: learning curves per fold")
            history.savefig(out / f"{stem}_learning_curves.png")
        chips = MisclassifiedChipsDisplay.from_predictions(
            X, y, detail.y_pred, proba=detail.proba,
            title=f"{name}: misclassified chips, most confident first")
        chips.savefig(out / f"{stem}_misclassified.png")
    except OSError as exc:
        raise _bad_file(exc) from exc
    finally:
        plt.close("all")


# --------------------------------------------------------------------------
# train / predict
# --------------------------------------------------------------------------


def _train(args):
    from .thresholds import calibrated, decision_threshold

    X, y, _, what = _load_data(args)
    model = _configured(args.model, y, args.seed, params=args.param)
    model = calibrated(model, method=args.calibrate, threshold=args.threshold,
                       tune=args.tune_threshold, cv=args.cv, random_state=args.seed)
    _fitting(lambda: model.fit(X, y))
    _save_estimator(model, args.out)
    how = "" if args.calibrate is None else f", {args.calibrate} calibration"
    if args.tune_threshold is not None:
        how += f", threshold tuned for {args.tune_threshold}"
    print(f"Trained {args.model}{how} on {what}; threshold "
          f"{decision_threshold(model):.3f}, training accuracy {model.score(X, y):.3f}; "
          f"wrote {args.out}")


def _predict(args):
    import numpy as np
    import pandas as pd

    from .thresholds import decision_threshold

    model = _load_classifier(args.model_file)
    names, chips = _chips(args, model)
    try:
        proba = model.predict_proba(chips)
    except ValueError as exc:
        raise CommandError(f"the chips do not fit {args.model_file}: "
                           f"{str(exc).splitlines()[0]}", 1) from exc
    if proba.shape[1] == 2:
        threshold = decision_threshold(model) if args.threshold is None else args.threshold
        probability = proba[:, 1]
        labels = model.classes_[(probability >= threshold).astype(int)]
    elif args.threshold is not None:
        raise CommandError(f"--threshold needs a binary model; {args.model_file} has "
                           f"{proba.shape[1]} classes", 2)
    else:
        probability = proba.max(axis=1)
        labels = model.classes_[np.argmax(proba, axis=1)]
    table = pd.DataFrame({"file": names, "probability": np.round(probability, 6),
                          "label": labels})
    if args.out is None:
        table.to_csv(sys.stdout, index=False)
    else:
        _write_text(args.out, table.to_csv(index=False))
        log.info(f"Wrote {len(table)} predictions to {args.out}")


def _load_classifier(path):
    """A saved model that has predict_proba, or a bad-file error."""
    model = _load_estimator(path)
    if not hasattr(model, "predict_proba"):
        raise CommandError(f"{path} holds a {type(model).__name__}, not a "
                           "classifier with predict_proba", 1)
    return model


def _chips(args, model):
    """(names, chips) of --paths, else synthetic chips of the model's input size."""
    if args.paths:
        return _read_chips(args.paths)
    from .datasets import make_ships
    from .thresholds import fitted_network

    size = getattr(args, "image_size", None) or getattr(
        fitted_network(model), "input_shape_", (_CHIP_SIZE,))[0]
    chips = make_ships(args.n_samples, image_size=size, random_state=args.seed).images
    return [f"synthetic-{i}" for i in range(len(chips))], chips


def _explain(args):
    import matplotlib

    matplotlib.use("Agg")

    from .explain import GradCAMDisplay

    model = _load_classifier(args.model_file)
    names, chips = _chips(args, model)
    out = _out_folder(args.out)
    try:
        display = GradCAMDisplay.from_estimator(
            model, chips, layer=args.layer, titles=[Path(name).name for name in names],
            n_cols=args.columns,
            title=f"Grad-CAM of {args.model_file.name}: where it sees a ship")
    except ValueError as exc:
        raise CommandError(f"{args.model_file}: {str(exc).splitlines()[0]}", 2) from exc
    _save_display(display, out / "grad_cam.png")
    log.info(f"Wrote grad_cam.png ({len(chips)} chips) to {out}")


def _read_chips(paths):
    """(names, images) of PNG files and folders (searched recursively) of them."""
    import numpy as np

    from ._io import read_rgb

    files = []
    for path in paths:
        if path.is_dir():
            found = sorted(path.rglob("*.png"))
            if not found:
                raise CommandError(f"folder {path} holds no .png files", 1)
            files += found
        elif path.is_file():
            files.append(path)
        else:
            raise CommandError(f"{path} does not exist", 1)
    chips = []
    for file in files:
        try:
            chips.append(read_rgb(file))
        except ValueError as exc:
            raise CommandError(str(exc), 1) from exc
    shapes = {chip.shape for chip in chips}
    if len(shapes) > 1:
        raise CommandError(f"the chips differ in size: {sorted(shapes)}; give chips of "
                           "the size the model was trained on", 1)
    return [str(file) for file in files], np.stack(chips)


# --------------------------------------------------------------------------
# search
# --------------------------------------------------------------------------


def _search(args):
    import pandas as pd
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    model_name, grid = _grid(args.grid, args.model)
    X, y, scenes, what = _load_data(args)
    model = _configured(model_name, y, args.seed, args.epochs)
    cv = StratifiedGroupKFold(args.cv) if args.group_by_scene else args.cv
    out = _out_folder(args.out)
    with ExitStack() as stack:
        n_jobs = None
        if args.scheduler or args.dask_workers:
            n_jobs = -1
            where = _dask(stack, args.scheduler, args.dask_workers)
        else:
            where = "in this process"
        search = GridSearchCV(model, grid, cv=cv, scoring=args.scoring, n_jobs=n_jobs)
        log.info(f"Searching {model_name} over {grid} on {what}; {args.cv} folds on "
                 f"{where}.")
        _fitting(lambda: search.fit(X, y, groups=scenes if args.group_by_scene
                                    else None))
    results = pd.DataFrame(search.cv_results_)
    shown = results[["params", "mean_test_score", "std_test_score", "mean_fit_time",
                     "rank_test_score"]].sort_values("rank_test_score")
    print(shown.to_markdown(index=False, floatfmt=".3f"))
    print(f"Best {args.scoring}: {search.best_score_:.3f} with {search.best_params_}")
    _write_text(out / "cv_results.csv", results.to_csv(index=False))
    _save_estimator(search.best_estimator_, out / ("best_model" + _NATIVE_SUFFIX))
    log.info(f"Wrote cv_results.csv and best_model{_NATIVE_SUFFIX} to {out}")


def _grid(text, model):
    """(model name, grid) from a named grid, a JSON object or a JSON file."""
    if text in GRIDS:
        grid_model, grid = GRIDS[text]
        if model is not None and model != grid_model:
            raise CommandError(f"--grid {text} is a grid for {grid_model}, not for "
                               f"--model {model}", 2)
        return grid_model, grid
    source = text
    if not text.lstrip().startswith(("{", "[")):
        path = Path(text)
        if not path.is_file():
            raise CommandError(
                f"--grid {text!r} is neither a named grid ({', '.join(GRIDS)}), a "
                "JSON object nor an existing JSON file", 2)
        try:
            source = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise _bad_file(exc) from exc
    try:
        grid = json.loads(source)
    except json.JSONDecodeError as exc:
        status = 2 if source is text else 1
        raise CommandError(f"--grid is not valid JSON ({exc})", status) from exc
    grids = grid if isinstance(grid, list) else [grid]
    if not grids or not all(isinstance(g, dict) and g and all(
            isinstance(v, list) and v for v in g.values()) for g in grids):
        raise CommandError(
            "--grid must be a JSON object of non-empty lists of values, e.g. "
            f'{{"filters": [[8, 4], [16, 8]]}}; got {grid!r}', 2)
    return model or "cnn", grid


def _dask(stack, scheduler, n_workers):
    """Enter a Dask client and joblib's Dask backend; say where the fits run."""
    import joblib

    try:
        from dask.distributed import Client, LocalCluster
    except ImportError as exc:
        raise CommandError("--scheduler and --dask-workers need Dask, an optional "
                           'dependency: pip install "sklship[dask]"', 2) from exc
    if scheduler:
        try:
            stack.enter_context(Client(scheduler, timeout="10s"))
        except (OSError, TimeoutError, ValueError) as exc:
            raise CommandError(f"--scheduler {scheduler}: cannot connect ({exc})",
                               2) from exc
        where = f"the Dask cluster at {scheduler}"
    else:
        # One thread per worker process: TensorFlow's seeding is per process.
        cluster = stack.enter_context(LocalCluster(
            n_workers=n_workers, threads_per_worker=1, processes=True,
            dashboard_address=None))
        stack.enter_context(Client(cluster))
        where = f"a local Dask cluster of {n_workers} workers"
    stack.enter_context(joblib.parallel_config(backend="dask"))
    return where


# --------------------------------------------------------------------------
# scan
# --------------------------------------------------------------------------


def _scan(args):
    import matplotlib

    matplotlib.use("Agg")
    from .datasets import make_scene
    from .thresholds import fitted_network

    out = _out_folder(args.out)
    scenes_dir = _out_folder(out / "scenes")
    if args.files:
        model = _load_estimator(args.files[0])
        shape = getattr(fitted_network(model), "input_shape_", None)
        size = None if shape is None else shape[0]
    else:
        model, size = _quick_model(args), args.image_size
    params = {"stride": args.stride, "threshold": args.threshold,
              "min_neighbors": args.min_neighbors, "bands": args.bands,
              "scale": args.scale, "date_pattern": args.date_pattern}
    if args.aoi is not None:
        from .geo import read_aoi

        try:
            params["aoi"] = read_aoi(args.aoi)
        except (OSError, ValueError) as exc:
            raise _bad_file(exc) from exc
    # name -> (what to scan, known ship positions)
    scenes = {path.stem: (path, None) for path in args.files[1:]}
    if len(scenes) < len(args.files[1:]):
        stems = [path.stem for path in args.files[1:]]
        twice = sorted({stem for stem in stems if stems.count(stem) > 1})
        raise CommandError(f"scenes must have different names; several are called "
                           f"{', '.join(twice)}", 2)
    if not scenes:
        if size is None:
            raise CommandError(f"{args.files[0]} does not say its chip size; give a "
                               "SCENE to scan", 2)
        scene, ships = make_scene(args.scene_size, args.scene_size, n_ships=args.n_ships,
                                  chip_size=size, random_state=args.seed)
        scenes = {"synthetic-scene": (scene, ships)}

    names = list(scenes)
    todo = [name for name in names
            if args.overwrite or not _scene_file(scenes_dir, name, "counts").exists()]
    for name in names:
        if name not in todo:
            print(f"{name}: scanned before, skipped (--overwrite to scan it again)")
    failed = {}
    with ExitStack() as stack:
        client = None
        if todo and (args.scheduler or args.dask_workers):
            from dask.distributed import default_client

            where = _dask(stack, args.scheduler, args.dask_workers)
            client = default_client()
            log.info(f"Scanning {len(todo)} scenes on {where}.")
        results = _scan_progress(model, [scenes[name][0] for name in todo], client,
                                 params, args.progress)
        for index, result, error, messages in results:
            name = todo[index]
            for message in messages:
                log.warning(f"{name}: {message}")
            if error is not None:
                failed[name] = str(error).splitlines()[0]
                continue
            _write_scene(scenes_dir, out, name, result, *scenes[name])
    if len(failed) < len(names):
        _combine_scans(out, scenes_dir, [name for name in names if name not in failed])
    if failed:
        raise CommandError(f"{len(failed)} of {len(names)} scenes could not be scanned "
                           "(the others were written): " + "; ".join(
                               f"{name}: {reason}" for name, reason in failed.items()), 1)


def _scan_progress(model, scenes, client, params, progress):
    """The scans (see ``survey.iter_scans``) behind a progress bar over scenes."""
    from .survey import iter_scans

    results = iter_scans(model, scenes, client=client, **params)
    if progress:
        from tqdm.auto import tqdm

        # disable=None: only on a terminal, never into a log file.
        results = tqdm(results, total=len(scenes), desc="scan", unit="scene",
                       disable=None)
    return results


def _scene_file(folder, name, kind):
    return folder / f"{_file_stem(name)}.{kind}.csv"


def _write_scene(scenes_dir, out, name, result, scene, ships):
    """Per-scene detections and overlay, then its counts (which mark it done)."""
    import matplotlib.pyplot as plt

    from .plotting import ScanDisplay
    from .scenes import open_scene
    from .survey import result_tables

    detections, counts = result_tables(result, name)
    inside = "" if result.counts["aoi"].isna().all() else " (" + ", ".join(
        f"{aoi}: {count}" for aoi, count in
        result.counts[["aoi", "count"]].itertuples(index=False)) + ")"
    print(f"{name}: {result.count} ships{inside}"
          + ("" if ships is None else f" ({len(ships)} placed)"))
    if result.crs is None:
        log.warning(f"{name} has no CRS: its detections have pixel row/col "
                    "only (no x, y, lon, lat)")
    with open_scene(scene, bands=result.bands, scale=result.scale) as source:
        picture = source.overview()[0]
    display = ScanDisplay.from_result(result, picture, true_positions=ships)
    display.ax_.set_title(f"{name}: {display.ax_.get_title()}", fontsize=9)
    try:
        display.savefig(out / f"{_file_stem(name)}_scan.png")
    except OSError as exc:
        raise _bad_file(exc) from exc
    finally:
        plt.close(display.figure_)
    _write_text(_scene_file(scenes_dir, name, "detections"), detections.to_csv(index=False))
    _write_text(_scene_file(scenes_dir, name, "counts"), counts.to_csv(index=False))


def _combine_scans(out, scenes_dir, names):
    """detections.csv, detections.geojson and counts.csv of the scenes ``names``."""
    import pandas as pd

    from .survey import COUNT_COLUMNS, DETECTION_COLUMNS

    def read(kind, columns):
        tables = [pd.read_csv(_scene_file(scenes_dir, name, kind), dtype={"aoi": "string"})
                  for name in names]
        tables = [table for table in tables if len(table)]
        if not tables:
            return pd.DataFrame(columns=list(columns[:5]))
        table = pd.concat(tables, ignore_index=True)
        return table[[c for c in columns if c in table]]

    detections = read("detections", DETECTION_COLUMNS)
    counts = read("counts", COUNT_COLUMNS)
    _write_text(out / "detections.csv", detections.to_csv(index=False))
    _write_text(out / "counts.csv", counts.to_csv(index=False))
    _write_text(out / "detections.geojson", _geojson(detections))
    mapped = int(detections["lon"].notna().sum()) if "lon" in detections else 0
    note = ("" if mapped == len(detections) else f"; {len(detections) - mapped} "
            "detections of scenes without CRS are in detections.csv only")
    log.info(f"Wrote detections.csv, detections.geojson ({mapped} points{note}), "
             f"counts.csv and overlays to {out}")


def _geojson(detections):
    """RFC 7946 FeatureCollection of the georeferenced detections, [lon, lat] points."""
    import pandas as pd

    features = []
    if "lon" in detections:
        mapped = detections[detections["lon"].notna()]
        for record in mapped.to_dict("records"):
            lon, lat = record.pop("lon"), record.pop("lat")
            properties = {key: (None if pd.isna(value) else
                                value.item() if hasattr(value, "item") else value)
                          for key, value in record.items()}
            features.append({"type": "Feature",
                             "geometry": {"type": "Point",
                                          "coordinates": [float(lon), float(lat)]},
                             "properties": properties})
    return json.dumps({"type": "FeatureCollection", "features": features})


# --------------------------------------------------------------------------
# activity
# --------------------------------------------------------------------------


def _activity(args):
    import warnings

    import matplotlib

    matplotlib.use("Agg")

    from .activity import port_activity, read_counts
    from .plotting import ActivityDisplay

    try:
        counts = read_counts(args.counts)
    except (OSError, ValueError) as exc:
        raise _bad_file(exc) from exc
    out = _out_folder(args.out)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        activity = port_activity(counts, freq=args.freq,
                                 min_valid_fraction=args.min_valid_fraction)
    for warning in caught:
        log.warning(warning.message)
    print(activity.to_markdown(index=False, floatfmt=".2f"))
    _write_text(out / "activity.csv", activity.to_csv(index=False, date_format="%Y-%m-%d"))
    _save_display(ActivityDisplay(activity, freq=args.freq).plot(), out / "activity.png")
    log.info(f"Wrote activity.csv and activity.png to {out}")


def _quick_model(args):
    """The book CNN fitted on synthetic chips, for scanning without a model file."""
    from . import CNNShipClassifier
    from .datasets import make_ships

    data = make_ships(args.n_samples, image_size=args.image_size,
                      random_state=args.seed)
    log.info(f"Training a CNN on {args.n_samples} synthetic chips ({args.epochs} epochs).")
    model = CNNShipClassifier(epochs=args.epochs, class_weight="balanced",
                              random_state=args.seed)
    return _fitting(lambda: model.fit(data.images, data.target))

