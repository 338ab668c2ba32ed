"""Plots of chip classifiers: confusion matrix, calibration, learning curves, mistakes.

Each display holds what it draws, ``plot(ax=...)`` draws it and returns the
display, whose ``figure_``, ``ax_`` and artists can then be restyled.
matplotlib is imported only when drawing.
"""

import numpy as np

from .._display import Display, save_figure  # noqa: F401 (save_figure's old home)

__all__ = [
    "MisclassifiedChipsDisplay",
    "TrainingHistoryDisplay",
    "plot_calibration_curves",
    "plot_confusion_matrix",
]


def plot_confusion_matrix(y_true, y_pred, *, display_labels=None, title=None,
                          normalize=None, ax=None):
    """scikit-learn's confusion matrix display, titled and with readable labels.

    Parameters
    ----------
    y_true, y_pred : array-like of shape (n_samples,)
        True and predicted labels (e.g. out-of-fold predictions).
    display_labels : list of str or None, default=None
        Names of the labels in sorted order; None uses "no ship" and "ship"
        for 0/1 labels and the labels themselves otherwise.
    title : str or None, default=None
        Axes title; None gives "Confusion matrix (n = ...)".
    normalize : {"true", "pred", "all"} or None, default=None
        As in :func:`sklearn.metrics.confusion_matrix`.
    ax : matplotlib Axes or None, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    display : sklearn.metrics.ConfusionMatrixDisplay
        With ``figure_`` and ``ax_``; write it with :func:`save_figure`.
    """
    import matplotlib.pyplot as plt
    from sklearn.metrics import ConfusionMatrixDisplay

    labels = np.unique(np.concatenate([np.asarray(y_true), np.asarray(y_pred)]))
    if display_labels is None:
        is_binary_01 = labels.dtype.kind in "iub" and set(labels.tolist()) <= {0, 1}
        display_labels = ["no ship", "ship"][:len(labels)] if is_binary_01 \
            and len(labels) == 2 else [str(label) for label in labels]
    if ax is None:
        _, ax = plt.subplots(figsize=(4.8, 4.2), layout="constrained")
    display = ConfusionMatrixDisplay.from_predictions(
        y_true, y_pred, labels=labels, display_labels=display_labels,
        normalize=normalize, cmap="Blues", colorbar=False, ax=ax,
    )
    display.ax_.set_title(title or f"Confusion matrix (n = {len(y_true)})")
    return display


def plot_calibration_curves(curves, *, n_bins=10, title=None, ax=None):
    """Reliability diagram: scikit-learn's ``CalibrationDisplay``, one curve per model.

    Each curve plots, per bin of predicted ship probability, the share of
    chips that are ships; a calibrated model follows the diagonal.

    Parameters
    ----------
    curves : dict of str to (y_true, y_prob)
        Per model, the labels (0/1 or the two classes, the larger one the
        ship) and the predicted probability of the ship, e.g. out-of-fold
        (``CrossValidationDetails.proba``).
    n_bins : int, default=10
        Bins of equal width over [0, 1].
    title : str or None, default=None
        Axes title; None gives "Reliability diagram".
    ax : matplotlib Axes or None, default=None
        Where to draw; None makes a new figure.

    Returns
    -------
    displays : dict of str to sklearn.calibration.CalibrationDisplay
        One per model, all sharing ``ax_`` and ``figure_``; write the figure
        with :func:`save_figure`.

    Examples
    --------
    >>> import numpy as np
    >>> from sklship.evaluation.plots import plot_calibration_curves
    >>> y = np.array([0, 0, 1, 1])
    >>> displays = plot_calibration_curves({"model": (y, [0.1, 0.4, 0.6, 0.9])})
    >>> displays["model"].line_.get_label()
    'model'
    """
    import matplotlib.pyplot as plt
    from sklearn.calibration import CalibrationDisplay

    if not curves:
        raise ValueError("curves is empty: give at least one model's (y_true, y_prob).")
    if ax is None:
        _, ax = plt.subplots(figsize=(5.2, 5), layout="constrained")
    displays = {}
    for name, (y_true, y_prob) in curves.items():
        y_true = np.asarray(y_true)
        displays[name] = CalibrationDisplay.from_predictions(
            y_true, y_prob, n_bins=n_bins, pos_label=np.unique(y_true)[-1], name=name,
            ref_line=not displays, ax=ax)
    ax.set_xlabel("predicted ship probability (mean of the bin)")
    ax.set_ylabel("share of ships in the bin")
    ax.set_title(title or "Reliability diagram")
    ax.legend(fontsize=8, loc="upper left")
    return displays


class TrainingHistoryDisplay(Display):
    """Learning curves: loss per epoch from fitted networks' ``history_``.

    Several histories (the folds of a cross-validation) are drawn in one
    axes, training loss solid and validation loss dashed, one colour each.

    Parameters
    ----------
    histories : list of dict of list
        Each a ``history_`` (``{"loss": [...], "val_loss": [...]}``).
    labels : list of str or None, default=None
        Legend label of each history; None numbers them "fold 1", ...

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
    ax_ : matplotlib.axes.Axes
    lines_ : list of matplotlib.lines.Line2D

    Examples
    --------
    >>> from sklship import DenseShipClassifier, make_ships
    >>> from sklship.evaluation.plots import TrainingHistoryDisplay
    >>> X, y = make_ships(60, image_size=16, random_state=0, return_X_y=True)
    >>> clf = DenseShipClassifier((8,), epochs=2, random_state=0).fit(X, y)
    >>> display = TrainingHistoryDisplay.from_estimators([clf])
    >>> [line.get_label() for line in display.lines_]
    ['fold 1, training']
    >>> display.savefig("learning_curves.png")  # doctest: +SKIP
    """

    def __init__(self, histories, *, labels=None):
        self.histories = histories
        self.labels = labels

    @classmethod
    def from_estimators(cls, estimators, *, labels=None, title=None, ax=None):
        """Plot the ``history_`` of fitted networks (those without one are skipped)."""
        histories = [dict(e.history_) for e in estimators if hasattr(e, "history_")]
        if not histories:
            raise ValueError(
                "None of the estimators has a training history (history_); learning "
                "curves need fitted sklship networks."
            )
        return cls(histories, labels=labels).plot(ax=ax, title=title)

    def plot(self, ax=None, *, title=None):
        """Draw the curves.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure.
        title : str or None, default=None
            Axes title; None gives "Learning curves".

        Returns
        -------
        display : TrainingHistoryDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            _, ax = plt.subplots(figsize=(6, 4), layout="constrained")
        labels = self.labels or [f"fold {i + 1}" for i in range(len(self.histories))]
        self.lines_ = []
        for index, (history, label) in enumerate(zip(self.histories, labels, strict=True)):
            colour = f"C{index % 10}"
            for key, style, part in (("loss", "-", "training"),
                                     ("val_loss", "--", "validation")):
                values = history.get(key)
                if values:
                    epochs = np.arange(1, len(values) + 1)
                    self.lines_ += ax.plot(epochs, values, style, color=colour,
                                           marker="o", markersize=3,
                                           label=f"{label}, {part}")
        ax.set_xlabel("epoch")
        ax.set_ylabel("loss (cross-entropy)")
        ax.set_title(title or "Learning curves")
        ax.xaxis.get_major_locator().set_params(integer=True)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, ncols=2 if len(self.lines_) > 6 else 1)
        self.figure_, self.ax_ = ax.figure, ax
        return self


class MisclassifiedChipsDisplay(Display):
    """A grid of the chips a model got wrong, each with its label and probability.

    Parameters
    ----------
    images : ndarray of shape (n, height, width, 3)
        The misclassified chips.
    y_true, y_pred : ndarray of shape (n,)
        Their true and predicted labels.
    proba : ndarray of shape (n,) or None, default=None
        Predicted probability of the positive class (ship), shown under each chip.
    names : list of str or None, default=None
        Names of labels 0 and 1 (default "no ship", "ship").
    n_wrong : int or None, default=None
        How many chips were misclassified in all, for the title.
    n_total : int or None, default=None
        How many chips were classified, for the title.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
    axes_ : ndarray of matplotlib.axes.Axes
    """

    def __init__(self, images, y_true, y_pred, *, proba=None, names=None, n_wrong=None,
                 n_total=None):
        self.images = images
        self.y_true = y_true
        self.y_pred = y_pred
        self.proba = proba
        self.names = names
        self.n_wrong = n_wrong
        self.n_total = n_total

    @classmethod
    def from_predictions(cls, images, y_true, y_pred, *, proba=None, max_chips=24,
                         title=None, random_state=0):
        """Pick up to ``max_chips`` misclassified chips and plot them.

        Parameters
        ----------
        images : array-like of shape (n_samples, height, width, 3)
            All chips.
        y_true, y_pred : array-like of shape (n_samples,)
            True and predicted labels.
        proba : array-like of shape (n_samples,) or None, default=None
            Probability of the positive class.
        max_chips : int, default=24
            Most chips to show; the most confident mistakes first when
            ``proba`` is given, else a random pick.
        title : str or None, default=None
            Start of the figure title (default "Misclassified chips"); the
            counts follow it.
        random_state : int, default=0
            Seed of the random pick.

        Returns
        -------
        display : MisclassifiedChipsDisplay
        """
        y_true, y_pred = np.asarray(y_true), np.asarray(y_pred)
        wrong = np.flatnonzero(y_true != y_pred)
        n_wrong = len(wrong)
        if proba is not None:
            proba = np.asarray(proba)
            wrong = wrong[np.argsort(-np.abs(proba[wrong] - 0.5), kind="stable")]
        else:
            wrong = np.random.default_rng(random_state).permutation(wrong)
        wrong = wrong[:max_chips]
        display = cls(np.asarray(images)[wrong], y_true[wrong], y_pred[wrong],
                      proba=None if proba is None else proba[wrong],
                      n_wrong=n_wrong, n_total=len(y_true))
        return display.plot(title=title)

    def plot(self, *, title=None):
        """Draw the grid (a new figure).

        Parameters
        ----------
        title : str or None, default=None
            Start of the figure title (default "Misclassified chips"); the
            counts follow it.

        Returns
        -------
        display : MisclassifiedChipsDisplay
        """
        import matplotlib.pyplot as plt

        names = self.names or ["no ship", "ship"]
        n = len(self.images)
        n_cols = min(6, max(n, 1))
        n_rows = max(1, -(-n // n_cols))
        fig, axes = plt.subplots(n_rows, n_cols, figsize=(1.7 * n_cols + 0.4,
                                                          1.95 * n_rows + 0.7),
                                 squeeze=False, layout="constrained")
        for index, ax in enumerate(axes.flat):
            ax.set_axis_off()
            if index >= n:
                continue
            ax.imshow(self.images[index], interpolation="nearest")
            label = f"true: {_name(self.y_true[index], names)}\n" \
                    f"pred: {_name(self.y_pred[index], names)}"
            if self.proba is not None:
                label += f" (p={self.proba[index]:.2f})"
            ax.set_title(label, fontsize=7)
        if n == 0:
            axes[0, 0].text(0.5, 0.5, "no misclassified chips", ha="center",
                            va="center", transform=axes[0, 0].transAxes)
        counts = f"{n} shown"
        if self.n_wrong is not None:
            counts += f" of {self.n_wrong} misclassified"
        if self.n_total is not None:
            counts += f" among {self.n_total} chips"
        if self.proba is not None:
            counts += "; p = predicted ship probability"
        fig.suptitle(f"{title or 'Misclassified chips'} ({counts})", fontsize=9)
        self.figure_, self.axes_ = fig, axes
        return self


def _name(label, names):
    """Display name of a 0/1 label; other labels as they are."""
    if isinstance(label, (int, np.integer)) and 0 <= label < len(names):
        return names[int(label)]
    return str(label)
