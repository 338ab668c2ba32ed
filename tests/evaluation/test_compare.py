"""compare_models, the named models, and the plots the comparison draws."""

import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest
from sklearn.calibration import calibration_curve
from sklearn.model_selection import ShuffleSplit, StratifiedGroupKFold, cross_validate

from sklship import CNNShipClassifier, DenseShipClassifier, make_baseline, make_ships
from sklship.estimators.zoo import GRIDS, MODELS, make_model
from sklship.evaluation.compare import compare_models, count_trainable_parameters, format_table
from sklship.evaluation.plots import (
    MisclassifiedChipsDisplay,
    TrainingHistoryDisplay,
    plot_calibration_curves,
    plot_confusion_matrix,
)


@pytest.fixture(scope="module")
def data():
    return make_ships(90, image_size=16, random_state=0)


@pytest.fixture(scope="module")
def compared(data):
    models = {"baseline": make_baseline(),
              "dense": DenseShipClassifier((4,), epochs=2, validation_split=0.2,
                                           random_state=0)}
    return compare_models(models, data.images, data.target, cv=3,
                          groups=data.scene_id, return_details=True)


def test_one_row_per_model_with_scores_times_and_parameters(compared):
    table, _ = compared
    assert list(table.index) == ["baseline", "dense"]
    for score in ("accuracy", "balanced_accuracy", "f1", "roc_auc", "brier_score",
                  "log_loss"):
        assert table[f"{score}_mean"].between(0, 1).all()
        assert (table[f"{score}_std"] >= 0).all()
    assert (table[["fit_time", "predict_time"]] > 0).all().all()
    assert table.loc["baseline", "n_parameters"] == 16 * 16 * 3 + 1
    assert table.loc["dense", "n_parameters"] == 16 * 16 * 3 * 4 + 4 + 4 + 1


def test_groups_keep_each_scene_in_one_test_fold(compared, data):
    _, details = compared
    folds_of_scene = {}
    for fold, test in enumerate(details["baseline"].test_indices):
        for scene in np.unique(data.scene_id[test]):
            folds_of_scene.setdefault(scene, set()).add(fold)
    assert all(len(folds) == 1 for folds in folds_of_scene.values())


def test_scores_are_those_of_cross_validate(compared, data):
    table, _ = compared
    direct = cross_validate(make_baseline(), data.images, data.target,
                            groups=data.scene_id, cv=StratifiedGroupKFold(3),
                            scoring="balanced_accuracy")
    assert table.loc["baseline", "balanced_accuracy_mean"] == pytest.approx(
        direct["test_score"].mean())


def test_brier_score_and_log_loss_are_the_losses_of_the_probabilities(compared, data):
    table, _ = compared
    direct = cross_validate(make_baseline(), data.images, data.target,
                            groups=data.scene_id, cv=StratifiedGroupKFold(3),
                            scoring=["neg_brier_score", "neg_log_loss"])
    assert table.loc["baseline", "brier_score_mean"] == pytest.approx(
        -direct["test_neg_brier_score"].mean())
    assert table.loc["baseline", "log_loss_mean"] == pytest.approx(
        -direct["test_neg_log_loss"].mean())
    assert table.loc["baseline", "brier_score_std"] == pytest.approx(
        direct["test_neg_brier_score"].std())
    assert format_table(table).loc["dense", "Brier score"].count("±") == 1


def test_details_hold_out_of_fold_predictions_and_fitted_folds(compared, data):
    _, details = compared
    dense = details["dense"]
    assert len(dense.estimators) == 3
    assert all(hasattr(e, "history_") for e in dense.estimators)
    assert dense.y_pred.shape == data.target.shape
    assert np.all((dense.proba >= 0) & (dense.proba <= 1))
    np.testing.assert_array_equal(dense.y_pred, (dense.proba >= 0.5).astype(int))
    np.testing.assert_array_equal(dense.indices, np.arange(len(data.target)))


def test_samples_no_fold_tested_get_no_prediction(data):
    cv = ShuffleSplit(n_splits=2, test_size=0.2, random_state=0)
    _, details = compare_models({"baseline": make_baseline()}, data.images, data.target,
                                cv=cv, return_details=True)
    detail = details["baseline"]
    tested = np.unique(np.concatenate(detail.test_indices))
    assert len(tested) < len(data.target)
    np.testing.assert_array_equal(detail.indices, tested)
    assert detail.y_pred.shape == detail.proba.shape == tested.shape
    fold = detail.estimators[1]  # the last fold's prediction wins
    last = detail.test_indices[1]
    np.testing.assert_array_equal(detail.y_pred[np.searchsorted(tested, last)],
                                  fold.predict(data.images[last]))


def test_list_of_estimators_is_named_by_class_and_progress_counts_fits(data, capsys,
                                                                      monkeypatch):
    X, y = data.images[:60], data.target[:60]
    table = compare_models([make_baseline(), make_baseline()], X, y, cv=2,
                           scoring="accuracy", progress=True)
    assert list(table.index) == ["Pipeline", "Pipeline-2"]
    assert list(table.columns[:2]) == ["score_mean", "score_std"]
    assert capsys.readouterr().err == ""  # no bar into a file or a pipe
    monkeypatch.setattr(sys.stderr, "isatty", lambda: True)
    compare_models([make_baseline()], X, y, cv=2, scoring="accuracy", progress=True)
    assert "2/2" in capsys.readouterr().err  # a terminal


@pytest.mark.parametrize("estimators, error, match", [
    ({}, ValueError, "empty"),
    (make_baseline(), TypeError, "dict of name to estimator"),
    ({"x": "not a model"}, TypeError, r"estimators\['x'\]"),
])
def test_bad_estimators_are_refused(estimators, error, match, data):
    with pytest.raises(error, match=match):
        compare_models(estimators, data.images, data.target)


def test_format_table_shows_mean_and_spread(compared):
    formatted = format_table(compared[0])
    assert formatted.loc["baseline", "ROC AUC"].count("±") == 1
    assert formatted.loc["baseline", "parameters"] == "769"
    assert "fit s/fold" in formatted


def test_book_cnn_has_the_books_parameter_count():
    X = np.zeros((4, 80, 80, 3), dtype=np.uint8)
    cnn = CNNShipClassifier().initialize(X, np.array([0, 1, 0, 1]))
    assert count_trainable_parameters(cnn) == 23_621
    assert count_trainable_parameters(object()) is None


def test_named_models_and_grids(data):
    for name in MODELS:
        model = make_model(name, data.target, random_state=0)
        assert hasattr(model, "fit")
    assert make_model("cnn", data.target).class_weight == pytest.approx(
        {0: data.target.mean(), 1: 1 - data.target.mean()})
    for model_name, grid in GRIDS.values():
        assert set(grid) <= set(make_model(model_name).get_params())
    with pytest.raises(ValueError, match="model must be one of"):
        make_model("svm")


# ------------------------------------------------------------------ plots
def test_confusion_matrix_is_titled_and_labelled():
    display = plot_confusion_matrix([0, 1, 1, 0], [0, 1, 0, 0], title="cnn")
    assert display.ax_.get_title() == "cnn"
    assert display.ax_.get_xlabel() == "Predicted label"
    assert [t.get_text() for t in display.ax_.get_xticklabels()] == ["no ship", "ship"]
    plt.close("all")


def test_reliability_diagram_has_one_curve_per_model(compared, data, tmp_path):
    _, details = compared
    curves = {name: (data.target[d.indices], d.proba) for name, d in details.items()}
    displays = plot_calibration_curves(curves, n_bins=5)
    assert list(displays) == ["baseline", "dense"]
    ax = displays["dense"].ax_
    assert all(display.ax_ is ax for display in displays.values())
    assert [line.get_label() for line in ax.get_lines()] == [
        "Perfectly calibrated", "baseline", "dense"]
    prob_true, prob_pred = calibration_curve(*curves["dense"], n_bins=5)
    np.testing.assert_allclose(displays["dense"].prob_true, prob_true)
    np.testing.assert_allclose(displays["dense"].prob_pred, prob_pred)
    assert ax.get_xlabel().startswith("predicted ship probability")
    with pytest.raises(ValueError, match="curves is empty"):
        plot_calibration_curves({})
    plt.close("all")


def test_learning_curves_from_fold_histories(compared, tmp_path):
    display = TrainingHistoryDisplay.from_estimators(compared[1]["dense"].estimators)
    assert len(display.lines_) == 6  # 3 folds x (training, validation)
    assert display.ax_.get_xlabel() == "epoch"
    assert display.ax_.get_ylabel().startswith("loss")
    assert display.savefig(tmp_path / "curves.png").exists()
    with pytest.raises(ValueError, match="history"):
        TrainingHistoryDisplay.from_estimators([make_baseline()])
    plt.close("all")


def test_misclassified_chips_most_confident_first(data):
    y_true = np.array([0, 1, 1, 0, 1])
    y_pred = np.array([1, 1, 0, 0, 0])
    proba = np.array([0.6, 0.9, 0.05, 0.1, 0.4])
    display = MisclassifiedChipsDisplay.from_predictions(data.images[:5], y_true, y_pred,
                                                         proba=proba, max_chips=2)
    np.testing.assert_array_equal(display.proba, [0.05, 0.6])
    titles = [ax.get_title() for ax in display.axes_.flat if ax.get_title()]
    assert titles[0] == "true: ship\npred: no ship (p=0.05)"
    none = MisclassifiedChipsDisplay.from_predictions(data.images[:2], [0, 1], [0, 1])
    assert "0 shown" in none.figure_._suptitle.get_text()
    plt.close("all")
