"""Compare models by cross-validation: which classifies chips best, and how sure is that?

(The named models and search grids that the ``sklship`` command line offers
live in :mod:`sklship.cli`.)
"""

from dataclasses import dataclass
from numbers import Integral

import numpy as np
import pandas as pd
from joblib import effective_n_jobs
from sklearn.base import clone, is_classifier
from sklearn.metrics import (
    brier_score_loss,
    check_scoring,
    f1_score,
    log_loss,
    make_scorer,
)
from sklearn.model_selection import (
    GroupKFold,
    StratifiedGroupKFold,
    check_cv,
    cross_validate,
)

__all__ = [
    "CrossValidationDetails",
    "compare_models",
    "count_trainable_parameters",
    "default_scoring",
    "format_table",
]


@dataclass
class CrossValidationDetails:
    """What one model's cross-validation produced besides its scores.

    Attributes
    ----------
    estimators : list of estimator
        The estimator fitted in each fold (their ``history_`` gives learning
        curves).
    test_indices : list of ndarray
        The test samples of each fold.
    indices : ndarray of shape (n_tested,)
        The samples some fold tested, in increasing order: all of them for
        K-fold splitters, fewer for splitters such as ``ShuffleSplit``.
        ``y_pred`` and ``proba`` are aligned with it; a sample no fold
        tested has no prediction.
    y_pred : ndarray of shape (n_tested,)
        Out-of-fold prediction of each tested sample (from the last fold
        that tested it).
    proba : ndarray of shape (n_tested,) or None
        Out-of-fold probability of the positive class (``classes_[1]``, the
        ship) for binary classifiers with ``predict_proba``; else None.
    """

    estimators: list
    test_indices: list
    indices: np.ndarray
    y_pred: np.ndarray
    proba: np.ndarray = None


def default_scoring(y, *, probabilities=True):
    """The scores of :func:`compare_models`.

    Accuracy, balanced accuracy, F1, ROC AUC and, for two classes and models
    with ``predict_proba``, the Brier score and the log loss of the
    probabilities (how far a probability can be trusted: both are 0 for
    certain and right, and grow with confident mistakes).

    For two classes F1 is that of the positive class: the larger label (1,
    the ship, for ShipsNet and ``make_ships``). For more classes F1 is the
    macro average and ROC AUC is one-vs-rest.

    Parameters
    ----------
    y : array-like of shape (n_samples,)
        The labels, to find the positive class.
    probabilities : bool, default=True
        Whether the models have ``predict_proba``, for the Brier score and
        the log loss.

    Returns
    -------
    scoring : dict
        Name to scorer, for ``cross_validate``. ``brier_score`` and
        ``log_loss`` are losses as they are (lower is better), not negated
        like scikit-learn's ``neg_brier_score``.
    """
    classes = np.unique(y)
    binary = len(classes) <= 2
    scoring = {
        "accuracy": "accuracy",
        "balanced_accuracy": "balanced_accuracy",
        "f1": make_scorer(f1_score, pos_label=classes[-1]) if binary else "f1_macro",
        "roc_auc": "roc_auc" if binary else "roc_auc_ovr",
    }
    if binary and probabilities:
        for name, loss in (("brier_score", brier_score_loss), ("log_loss", log_loss)):
            scoring[name] = make_scorer(loss, response_method="predict_proba")
    return scoring


def count_trainable_parameters(estimator):
    """Trainable parameters of a fitted estimator.

    Parameters
    ----------
    estimator : estimator
        A fitted sklship network (its Keras ``model_``), a linear model
        (``coef_`` and ``intercept_``), or a pipeline ending in either.

    Returns
    -------
    n_parameters : int or None
        None when the estimator is neither.
    """
    final = estimator[-1] if hasattr(estimator, "steps") else estimator
    model = getattr(final, "model_", None)
    if model is not None:
        return int(sum(np.prod(w.shape) for w in model.trainable_weights))
    if hasattr(final, "coef_"):
        return int(np.size(final.coef_) + np.size(getattr(final, "intercept_", 0)))
    return None


def compare_models(estimators, X, y, *, cv=5, groups=None, scoring=None, n_jobs=None,
                   progress=False, return_details=False):
    """Cross-validate several models on the same folds and tabulate their scores.

    Parameters
    ----------
    estimators : dict of str to estimator, or list of estimators
        The models; a list is named by class (``CNNShipClassifier``,
        ``CNNShipClassifier-2``, ...).
    X : array-like of shape (n_samples, height, width, channels)
        Chips.
    y : array-like of shape (n_samples,)
        Labels.
    cv : int or cross-validation splitter, default=5
        Number of folds or a splitter. An int gives stratified folds for
        classifiers, and with ``groups`` stratified group folds
        (``StratifiedGroupKFold``), so that the chips of one scene stay on
        one side. Every model sees the same folds.
    groups : array-like of shape (n_samples,) or None, default=None
        Group of each sample (the scene id); switches to group-aware folds.
    scoring : str, callable, list, dict or None, default=None
        As in ``cross_validate``. None scores accuracy, balanced accuracy,
        F1 of the positive class (the ship), ROC AUC and, for binary
        classifiers with ``predict_proba``, the Brier score and log loss of
        their probabilities (see :func:`default_scoring`).
    n_jobs : int or None, default=None
        Folds fitted in parallel (joblib; a Dask cluster under
        ``joblib.parallel_config(backend="dask")``).
    progress : bool, default=False
        A tqdm progress bar over models x folds, on standard error when it
        is a terminal.
    return_details : bool, default=False
        Also return each model's fitted estimators and out-of-fold
        predictions, for plots.

    Returns
    -------
    table : pandas.DataFrame
        One row per model (index ``model``): ``<score>_mean`` and
        ``<score>_std`` of each score over the folds, ``fit_time`` and
        ``predict_time`` (mean seconds per fold; predict time is the time
        to score the test fold) and ``n_parameters`` (trainable parameters
        of the model fitted in the first fold).
    details : dict of str to CrossValidationDetails
        Only if ``return_details``.

    See Also
    --------
    sklearn.model_selection.cross_validate : What runs underneath.

    Examples
    --------
    >>> from sklship import DenseShipClassifier, make_ships
    >>> from sklship.evaluation.compare import compare_models
    >>> data = make_ships(60, image_size=16, random_state=0)
    >>> table = compare_models(
    ...     {"narrow": DenseShipClassifier((2,), epochs=1, random_state=0),
    ...      "wide": DenseShipClassifier((16,), epochs=1, random_state=0)},
    ...     data.images, data.target, cv=2, groups=data.scene_id)
    >>> list(table.index), "roc_auc_mean" in table
    (['narrow', 'wide'], True)
    """
    estimators = _named(estimators)
    y = np.asarray(y)
    if scoring is None:
        scoring = default_scoring(y, probabilities=all(
            hasattr(e, "predict_proba") for e in estimators.values()))
    classifier = any(is_classifier(e) for e in estimators.values())
    splitter = _splitter(cv, y, groups, classifier)
    folds = list(splitter.split(X, y, groups))

    bar = None
    # A bar cannot travel to worker processes: with parallel folds it moves per model.
    counting = effective_n_jobs(n_jobs) == 1
    if progress:
        from tqdm.auto import tqdm

        # disable=None: only on a terminal, never into a log file.
        bar = tqdm(total=len(estimators) * len(folds), desc="compare", unit="fit",
                   disable=None)
    rows, details = {}, {}
    try:
        for done, (name, estimator) in enumerate(estimators.items()):
            if bar is not None:
                bar.set_postfix_str(name)
            scores = cross_validate(
                clone(estimator), X, y, groups=groups, cv=folds,
                scoring=_counting(check_scoring(estimator, scoring),
                                  bar if counting else None),
                n_jobs=n_jobs, return_estimator=True, error_score="raise",
            )
            if bar is not None:
                bar.update((done + 1) * len(folds) - bar.n)
            rows[name] = _summary(scores)
            details[name] = _details(scores["estimator"], folds, X, y)
    finally:
        if bar is not None:
            bar.close()
    table = pd.DataFrame.from_dict(rows, orient="index")
    table.index.name = "model"
    return (table, details) if return_details else table


def _named(estimators):
    if isinstance(estimators, dict):
        named = dict(estimators)
    elif isinstance(estimators, (list, tuple)):
        named, seen = {}, {}
        for estimator in estimators:
            base = type(estimator).__name__
            seen[base] = seen.get(base, 0) + 1
            named[base if seen[base] == 1 else f"{base}-{seen[base]}"] = estimator
    else:
        raise TypeError(
            "estimators must be a dict of name to estimator or a list of estimators; "
            f"got {type(estimators).__name__}."
        )
    if not named:
        raise ValueError("estimators is empty: give at least one model to compare.")
    for name, estimator in named.items():
        if not hasattr(estimator, "fit"):
            raise TypeError(f"estimators[{name!r}] must be an estimator with fit; got "
                            f"{type(estimator).__name__}.")
    return named


def _splitter(cv, y, groups, classifier):
    """``cv`` as a splitter; an int with groups gives (stratified) group folds."""
    if groups is not None and isinstance(cv, Integral) and not isinstance(cv, bool):
        if cv < 2:
            raise ValueError(f"cv must be at least 2 folds; got cv={cv}.")
        kind = StratifiedGroupKFold if classifier else GroupKFold
        return kind(n_splits=cv)
    return check_cv(cv, y, classifier=classifier)


def _counting(scorer, bar):
    """``scorer`` that also advances ``bar`` once per test fold it scores."""
    if bar is None:
        return scorer

    def score(estimator, X, y, **kwargs):
        scores = scorer(estimator, X, y, **kwargs)
        bar.update(1)
        return scores

    return score


def _summary(scores):
    row = {}
    for key, values in scores.items():
        if key.startswith("test_"):
            name = key[len("test_"):]
            row[f"{name}_mean"] = float(np.mean(values))
            row[f"{name}_std"] = float(np.std(values))
    row["fit_time"] = float(np.mean(scores["fit_time"]))
    row["predict_time"] = float(np.mean(scores["score_time"]))
    row["n_parameters"] = count_trainable_parameters(scores["estimator"][0])
    return row


def _details(fitted, folds, X, y):
    X = np.asarray(X)
    y_pred = np.empty(len(y), dtype=y.dtype)
    binary = all(hasattr(e, "predict_proba") and len(getattr(e, "classes_", ())) == 2
                 for e in fitted)
    proba = np.full(len(y), np.nan) if binary else None
    for estimator, (_, test) in zip(fitted, folds, strict=True):
        if binary:
            fold_proba = estimator.predict_proba(X[test])
            proba[test] = fold_proba[:, 1]
            y_pred[test] = estimator.classes_[np.argmax(fold_proba, axis=1)]
        else:
            y_pred[test] = estimator.predict(X[test])
    tested = np.unique(np.concatenate([test for _, test in folds]))
    return CrossValidationDetails(estimators=list(fitted),
                                  test_indices=[test for _, test in folds],
                                  indices=tested, y_pred=y_pred[tested],
                                  proba=None if proba is None else proba[tested])


def format_table(table, digits=3):
    """The :func:`compare_models` table for people: "mean ± std" per score.

    Parameters
    ----------
    table : pandas.DataFrame
        What :func:`compare_models` returned.
    digits : int, default=3
        Decimals of the scores.

    Returns
    -------
    formatted : pandas.DataFrame
        Strings: one column per score, then fit and predict seconds per
        fold and trainable parameters.
    """
    titles = {"accuracy": "accuracy", "balanced_accuracy": "balanced accuracy",
              "f1": "F1 (ship)", "roc_auc": "ROC AUC", "brier_score": "Brier score",
              "log_loss": "log loss"}
    formatted = pd.DataFrame(index=table.index)
    for column in table.columns:
        if column.endswith("_mean"):
            score = column[:-len("_mean")]
            formatted[titles.get(score, score)] = [
                f"{m:.{digits}f} ± {s:.{digits}f}"
                for m, s in zip(table[column], table[f"{score}_std"], strict=True)]
    formatted["fit s/fold"] = [f"{t:.1f}" for t in table["fit_time"]]
    formatted["predict s/fold"] = [f"{t:.2f}" for t in table["predict_time"]]
    formatted["parameters"] = ["" if pd.isna(n) else f"{int(n):,}"
                               for n in table["n_parameters"]]
    return formatted
