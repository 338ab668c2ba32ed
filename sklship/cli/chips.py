"""The chip commands: compare, train, predict, explain and search."""

import json
import logging
import sys
from contextlib import ExitStack
from pathlib import Path

from ..estimators.zoo import GRIDS, MODELS
from .arguments import (
    CHIP_SIZE,
    NATIVE_SUFFIX,
    CommandError,
    add_chip_arguments,
    add_data_arguments,
    at_least,
    bad_file,
    key_value,
    probability,
)
from .files import (
    configured,
    dask_client,
    file_stem,
    fitting,
    load_data,
    load_estimator,
    out_folder,
    save_display,
    save_estimator,
    write_text,
)

log = logging.getLogger("sklship")


def add_parsers(commands, common, parents):
    """Add compare, train, predict, explain and search.

    Parameters
    ----------
    commands : argparse subparsers
        Where the commands are added.
    common : argparse.ArgumentParser
        Parent parser of the options of every command.
    parents : Parents
        Parent parsers of option groups shared by several commands.
    """
    _add_compare(commands, common, parents)
    _add_train(commands, common, parents)
    _add_predict(commands, common, parents)
    _add_explain(commands, common, parents)
    _add_search(commands, common, parents)


def _add_compare(commands, common, parents):
    compare = commands.add_parser(
        "compare", parents=[common, parents.folds],
        help="cross-validate models and tabulate their scores",
        description="Cross-validate models on the same folds; write results.csv, "
        "results.md (scores, Brier score and log loss of the probabilities), "
        "calibration.png (reliability diagram of the out-of-fold probabilities) "
        "and, per model, a confusion matrix, learning curves and the "
        "misclassified chips as PNG.")
    add_data_arguments(compare)
    compare.add_argument("--models", nargs="+", choices=sorted(MODELS), metavar="NAME",
                         default=[name for name, (_, default) in MODELS.items() if default],
                         help="models to compare, of: " + ", ".join(
                             f"{name} ({text})" for name, (text, _) in MODELS.items())
                         + " (default: %(default)s)")
    compare.add_argument("--out", type=Path, default=Path("sklship-compare"),
                         metavar="DIR", help="output folder (default: %(default)s)")
    compare.set_defaults(run=_compare)


def _add_train(commands, common, parents):
    train = commands.add_parser(
        "train", parents=[common], help="fit one model on all chips and save it",
        description="Fit a model on all chips and save it: a .joblib name writes "
        "joblib (pickle), any other name sklship's pickle-free native format. "
        "--calibrate calibrates its probabilities (CalibratedClassifierCV); "
        "--threshold or --tune-threshold sets the probability at which it says "
        "'ship' (FixedThresholdClassifier, TunedThresholdClassifierCV), saved "
        "with the model and used by predict and scan.")
    add_data_arguments(train)
    train.add_argument("--model", choices=sorted(MODELS), default="cnn",
                       help="model to train (default: %(default)s)")
    train.add_argument("--param", action="append", default=[], metavar="KEY=VALUE",
                       type=key_value, help="set a model parameter; VALUE is JSON "
                       "(3, 0.01, [16,8], null) or else a string; repeatable")
    train.add_argument("--out", type=Path, default=Path("model" + NATIVE_SUFFIX),
                       metavar="FILE", help="model file to write (default: %(default)s)")
    train.add_argument("--calibrate", choices=["sigmoid", "isotonic"],
                       help="calibrate the probabilities on --cv folds: sigmoid (Platt; "
                       "few chips) or isotonic (some thousand chips)")
    cut = train.add_mutually_exclusive_group()
    cut.add_argument("--threshold", type=probability, metavar="T",
                     help="say 'ship' from probability T on (default: 0.5)")
    cut.add_argument("--tune-threshold", metavar="METRIC",
                     help="choose the threshold maximising a scikit-learn score "
                     "(balanced_accuracy, f1, precision, recall, ...) on --cv folds")
    train.add_argument("--cv", type=at_least(2), default=3, metavar="N",
                       help="folds for --calibrate and --tune-threshold "
                       "(default: %(default)s)")
    train.set_defaults(run=_train)


def _add_predict(commands, common, parents):
    predict = commands.add_parser(
        "predict", parents=[common], help="classify PNG chips with a saved model",
        description="Classify PNG chips (files or folders of them) with a model "
        "saved by 'sklship train'; without PATH, synthetic chips. Writes CSV: "
        "file, probability (of a ship), label.")
    add_chip_arguments(predict, "PATH", "classify", 20)
    predict.add_argument("--image-size", type=at_least(16), metavar="N",
                         help="side of the synthetic chips (default: the model's "
                         f"input size, else {CHIP_SIZE})")
    predict.add_argument("--threshold", type=probability, metavar="T",
                         help="label a chip a ship from probability T on (default: "
                         "the threshold saved with the model, else 0.5)")
    predict.add_argument("--out", type=Path, metavar="FILE",
                         help="CSV file to write (default: standard output)")
    predict.set_defaults(run=_predict)


def _add_explain(commands, common, parents):
    explain = commands.add_parser(
        "explain", parents=[common], help="show where a model sees ships (Grad-CAM)",
        description="Grad-CAM heat maps of a saved convolutional model over PNG chips "
        "(files or folders of them; without CHIP, synthetic chips): writes "
        "DIR/grad_cam.png, each chip with its heat map and ship probability.")
    add_chip_arguments(explain, "CHIP", "explain", 12)
    explain.add_argument("--layer", metavar="NAME",
                         help="layer of the network to explain (default: its last "
                         "feature map of at least 2x2)")
    explain.add_argument("--columns", type=at_least(1), default=6, metavar="N",
                         help="chips per row of the grid (default: %(default)s)")
    explain.add_argument("--out", type=Path, default=Path("sklship-explain"),
                         metavar="DIR", help="output folder (default: %(default)s)")
    explain.set_defaults(run=_explain)


def _add_search(commands, common, parents):
    search = commands.add_parser(
        "search", parents=[common, parents.folds, parents.dask],
        help="grid search over parameters, optionally on a Dask cluster",
        description="GridSearchCV over a named grid or one given as JSON; writes "
        "cv_results.csv and the refitted best model.")
    add_data_arguments(search)
    search.add_argument("--grid", default="pooling", metavar="GRID",
                        help="a named grid (" + "; ".join(
                            f"{name}: {model} {grid}" for name, (model, grid)
                            in GRIDS.items()) + "), a JSON object of parameter "
                        "lists, or a JSON file (default: %(default)s)")
    search.add_argument("--model", choices=sorted(MODELS),
                        help="model to search (default: the named grid's, else cnn)")
    search.add_argument("--scoring", default="balanced_accuracy",
                        help="scikit-learn scorer name (default: %(default)s)")
    search.add_argument("--out", type=Path, default=Path("sklship-search"),
                        metavar="DIR", help="output folder (default: %(default)s)")
    search.set_defaults(run=_search)



def _compare(args):
    import matplotlib

    matplotlib.use("Agg")
    from ..evaluation.compare import compare_models, format_table

    X, y, scenes, what = load_data(args)
    out = out_folder(args.out)
    models = {name: configured(name, y, args.seed, args.epochs)
              for name in dict.fromkeys(args.models)}
    groups = scenes if args.group_by_scene else None
    split = (f"{args.cv}-fold stratified group cross-validation by scene "
             f"({len(set(scenes))} scenes)" if groups is not None
             else f"{args.cv}-fold stratified cross-validation")
    log.info(f"Comparing {', '.join(models)} on {what}; {split}.")
    table, details = fitting(lambda: compare_models(
        models, X, y, cv=args.cv, groups=groups, progress=args.progress,
        return_details=True))

    pretty = format_table(table)
    markdown = pretty.to_markdown(disable_numparse=True)
    print(markdown)
    write_text(out / "results.csv", table.to_csv())
    write_text(out / "results.md", f"# sklship compare\n\n{what}; {split}. Scores: "
                f"mean ± standard deviation over the folds.\n\n{markdown}\n")
    for name, detail in details.items():
        _write_model_plots(out, name, detail, X, y)
    _write_calibration_plot(out, details, y)
    log.info(f"Wrote results.csv, results.md and plots to {out}")


def _write_calibration_plot(out, details, y):
    """calibration.png: the reliability diagram of every model with probabilities."""
    import matplotlib.pyplot as plt

    from ..evaluation.plots import plot_calibration_curves, save_figure

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
        raise bad_file(exc) from exc
    finally:
        plt.close("all")


def _write_model_plots(out, name, detail, X, y):
    import matplotlib.pyplot as plt

    from ..evaluation.plots import (
        MisclassifiedChipsDisplay,
        TrainingHistoryDisplay,
        plot_confusion_matrix,
        save_figure,
    )

    stem = file_stem(name)
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
        raise bad_file(exc) from exc
    finally:
        plt.close("all")


# --------------------------------------------------------------------------
# train / predict
# --------------------------------------------------------------------------


def _train(args):
    from ..evaluation.thresholds import calibrated, decision_threshold

    X, y, _, what = load_data(args)
    model = configured(args.model, y, args.seed, params=args.param)
    model = calibrated(model, method=args.calibrate, threshold=args.threshold,
                       tune=args.tune_threshold, cv=args.cv, random_state=args.seed)
    fitting(lambda: model.fit(X, y))
    save_estimator(model, args.out)
    how = "" if args.calibrate is None else f", {args.calibrate} calibration"
    if args.tune_threshold is not None:
        how += f", threshold tuned for {args.tune_threshold}"
    print(f"Trained {args.model}{how} on {what}; threshold "
          f"{decision_threshold(model):.3f}, training accuracy {model.score(X, y):.3f}; "
          f"wrote {args.out}")


def _predict(args):
    import numpy as np
    import pandas as pd

    from ..estimators.unwrap import thresholded_labels

    model = _load_classifier(args.model_file)
    names, chips = _chips(args, model)
    try:
        proba = model.predict_proba(chips)
    except ValueError as exc:
        raise CommandError(f"the chips do not fit {args.model_file}: "
                           f"{str(exc).splitlines()[0]}", 1) from exc
    try:
        probability, labels = thresholded_labels(model, proba, args.threshold)
    except ValueError as exc:
        raise CommandError(f"--threshold needs a binary model; {args.model_file} has "
                           f"{proba.shape[1]} classes", 2) from exc
    table = pd.DataFrame({"file": names, "probability": np.round(probability, 6),
                          "label": labels})
    if args.out is None:
        table.to_csv(sys.stdout, index=False)
    else:
        write_text(args.out, table.to_csv(index=False))
        log.info(f"Wrote {len(table)} predictions to {args.out}")


def _load_classifier(path):
    """A saved model that has predict_proba, or a bad-file error."""
    model = load_estimator(path)
    if not hasattr(model, "predict_proba"):
        raise CommandError(f"{path} holds a {type(model).__name__}, not a "
                           "classifier with predict_proba", 1)
    return model


def _chips(args, model):
    """(names, chips) of --paths, else synthetic chips of the model's input size."""
    if args.paths:
        return _read_chips(args.paths)
    from ..datasets import make_ships
    from ..estimators.unwrap import fitted_network

    size = getattr(args, "image_size", None) or getattr(
        fitted_network(model), "input_shape_", (CHIP_SIZE,))[0]
    chips = make_ships(args.n_samples, image_size=size, random_state=args.seed).images
    return [f"synthetic-{i}" for i in range(len(chips))], chips


def _explain(args):
    import matplotlib

    matplotlib.use("Agg")

    from ..evaluation.explain import GradCAMDisplay

    model = _load_classifier(args.model_file)
    names, chips = _chips(args, model)
    out = out_folder(args.out)
    try:
        display = GradCAMDisplay.from_estimator(
            model, chips, layer=args.layer, titles=[Path(name).name for name in names],
            n_cols=args.columns,
            title=f"Grad-CAM of {args.model_file.name}: where it sees a ship")
    except ValueError as exc:
        raise CommandError(f"{args.model_file}: {str(exc).splitlines()[0]}", 2) from exc
    save_display(display, out / "grad_cam.png")
    log.info(f"Wrote grad_cam.png ({len(chips)} chips) to {out}")


def _read_chips(paths):
    """(names, images) of PNG files and folders (searched recursively) of them."""
    import numpy as np

    from .._io import read_rgb

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


def _search(args):
    import pandas as pd
    from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

    model_name, grid = _grid(args.grid, args.model)
    X, y, scenes, what = load_data(args)
    model = configured(model_name, y, args.seed, args.epochs)
    cv = StratifiedGroupKFold(args.cv) if args.group_by_scene else args.cv
    out = out_folder(args.out)
    with ExitStack() as stack:
        n_jobs = None
        if args.scheduler or args.dask_workers:
            n_jobs = -1
            where = dask_client(stack, args.scheduler, args.dask_workers)
        else:
            where = "in this process"
        search = GridSearchCV(model, grid, cv=cv, scoring=args.scoring, n_jobs=n_jobs)
        log.info(f"Searching {model_name} over {grid} on {what}; {args.cv} folds on "
                 f"{where}.")
        fitting(lambda: search.fit(X, y, groups=scenes if args.group_by_scene
                                    else None))
    results = pd.DataFrame(search.cv_results_)
    shown = results[["params", "mean_test_score", "std_test_score", "mean_fit_time",
                     "rank_test_score"]].sort_values("rank_test_score")
    print(shown.to_markdown(index=False, floatfmt=".3f"))
    print(f"Best {args.scoring}: {search.best_score_:.3f} with {search.best_params_}")
    write_text(out / "cv_results.csv", results.to_csv(index=False))
    save_estimator(search.best_estimator_, out / ("best_model" + NATIVE_SUFFIX))
    log.info(f"Wrote cv_results.csv and best_model{NATIVE_SUFFIX} to {out}")


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
            raise bad_file(exc) from exc
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
