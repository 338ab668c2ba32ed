"""Display-style plots (scikit-learn's ``*Display`` pattern).

Each display holds what it draws, ``plot(ax=...)`` draws it and returns the
display, whose ``figure_``, ``ax_`` and artists can then be restyled.
matplotlib is imported only when drawing.
"""

import numpy as np

from ._io import atomic_path

__all__ = [
    "MisclassifiedChipsDisplay",
    "ScanDisplay",
    "TrainingHistoryDisplay",
    "plot_calibration_curves",
    "plot_confusion_matrix",
    "save_figure",
]


def save_figure(figure, path, *, dpi=150):
    """Write a matplotlib figure atomically (format from the extension of ``path``).

    Parameters
    ----------
    figure : matplotlib.figure.Figure
        The figure.
    path : str or os.PathLike
        The file; a failed write leaves an existing file as it was.
    dpi : int, default=150
        Resolution.

    Returns
    -------
    path : str or os.PathLike
        ``path``.
    """
    with atomic_path(path) as tmp:
        figure.savefig(tmp, dpi=dpi)
    return path


class _Display:
    """``savefig`` shared by the displays: draw if needed, then write atomically."""

    def savefig(self, path, *, dpi=150):
        """Write the figure to ``path`` (PNG by its extension); returns the path."""
        if not hasattr(self, "figure_"):
            self.plot()
        return save_figure(self.figure_, path, dpi=dpi)


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
    >>> from sklship.plotting import plot_calibration_curves
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


class TrainingHistoryDisplay(_Display):
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
    >>> from sklship.plotting import TrainingHistoryDisplay
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


class MisclassifiedChipsDisplay(_Display):
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


class ScanDisplay(_Display):
    """A scanned scene with its ship-probability heat map and detections boxed.

    Create it with :meth:`from_result` (or :meth:`from_estimator`, which
    scans first); ``plot`` draws and ``savefig`` writes a PNG.

    Parameters
    ----------
    scene : ndarray of shape (height, width, 3)
        The scanned image, or a decimated overview of it (drawn over the
        scene's full pixel extent, ``result.scene_shape``).
    result : ScanResult
        What :func:`sklship.scan.scan_scene` returned for ``scene``.
    true_positions : pandas.DataFrame or ndarray of shape (n, 2) or None, \
            default=None
        Known ship centres (row, col), drawn as crosses (e.g. from
        :func:`sklship.scan.make_scene`).

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
    ax_ : matplotlib.axes.Axes
    image_ : matplotlib.image.AxesImage
        The scene.
    heatmap_ : matplotlib.image.AxesImage
        The probability overlay (transparent where the probability is low).
    colorbar_ : matplotlib.colorbar.Colorbar
    boxes_ : list of matplotlib.patches.Rectangle
        One box per detection.

    Examples
    --------
    >>> from sklship.plotting import ScanDisplay
    >>> display = ScanDisplay.from_result(result, scene)  # doctest: +SKIP
    >>> display.savefig("scan.png")  # doctest: +SKIP
    """

    def __init__(self, scene, result, *, true_positions=None):
        self.scene = scene
        self.result = result
        self.true_positions = true_positions

    @classmethod
    def from_result(cls, result, scene, *, true_positions=None, ax=None,
                    cmap="inferno", annotate=True):
        """Plot a :class:`~sklship.scan.ScanResult` over its scene."""
        display = cls(np.asarray(scene), result, true_positions=true_positions)
        return display.plot(ax=ax, cmap=cmap, annotate=annotate)

    @classmethod
    def from_estimator(cls, estimator, scene, *, true_positions=None, ax=None,
                       cmap="inferno", annotate=True, **scan_params):
        """Scan ``scene`` with ``estimator`` (see ``scan_scene``), then plot.

        A scene file is drawn from its decimated overview (at most
        :data:`sklship.scenes.OVERVIEW_SIDE` pixels a side).
        """
        from .scan import scan_scene
        from .scenes import open_scene

        result = scan_scene(estimator, scene, **scan_params)
        with open_scene(scene, bands=result.bands, scale=result.scale) as source:
            picture = source.overview()[0]
        return cls.from_result(result, picture, true_positions=true_positions, ax=ax,
                               cmap=cmap, annotate=annotate)

    def plot(self, ax=None, *, cmap="inferno", annotate=True):
        """Draw the scene, the heat map, the boxes and the known ships.

        Parameters
        ----------
        ax : matplotlib Axes or None, default=None
            Where to draw; None makes a new figure sized to the scene.
        cmap : str, default="inferno"
            Colour map of the probabilities.
        annotate : bool, default=True
            Write each detection's probability above its box.

        Returns
        -------
        display : ScanDisplay
        """
        import matplotlib.pyplot as plt
        from matplotlib import colormaps
        from matplotlib.cm import ScalarMappable
        from matplotlib.colors import Normalize
        from matplotlib.patches import Rectangle

        result, scene = self.result, self.scene
        height, width = result.scene_shape[:2]  # the scene may be a decimated overview
        if ax is None:
            scale = 9 / max(height, width)
            fig, ax = plt.subplots(figsize=(max(4.5, width * scale) + 1.5,
                                            max(3.5, height * scale) + 0.8),
                                   layout="constrained")
        else:
            fig = ax.figure
        self.image_ = ax.imshow(scene if scene.shape[2] == 3 else scene[..., :3],
                                interpolation="nearest", extent=(0, width, height, 0))

        # Each probability covers the stride x stride cell around its window's centre.
        grid = result.probabilities
        half, step = result.window / 2, result.stride
        extent = (half - step / 2, half + (grid.shape[1] - 0.5) * step,
                  half + (grid.shape[0] - 0.5) * step, half - step / 2)
        norm = Normalize(0, 1)
        rgba = colormaps[cmap](norm(grid))
        # Low probability, and windows not evaluated (NaN), see-through.
        rgba[..., 3] = 0.75 * np.clip(np.nan_to_num(grid), 0, 1) ** 0.7
        self.heatmap_ = ax.imshow(rgba, extent=extent, interpolation="nearest")
        self.colorbar_ = fig.colorbar(ScalarMappable(norm, cmap), ax=ax, shrink=0.8,
                                      label="ship probability of the window")

        self.boxes_ = []
        for row, col, probability in result.detections[
                ["row", "col", "probability"]].itertuples(index=False):
            box = Rectangle((col - half, row - half), result.window, result.window,
                            fill=False, edgecolor="cyan", linewidth=1.2)
            ax.add_patch(box)
            self.boxes_.append(box)
            if annotate:
                above = row - half >= 0.04 * height  # else the label goes below
                ax.text(col - half, row - half - 2 if above else row + half + 2,
                        f"{probability:.2f}", color="cyan", fontsize=7,
                        va="bottom" if above else "top", clip_on=True)
        if self.true_positions is not None:
            truth = np.asarray(self.true_positions, dtype=float).reshape(-1, 2)
            ax.plot(truth[:, 1], truth[:, 0], "x", color="lime", markersize=6,
                    linestyle="none", label="true ship")
            ax.legend(loc="upper right", fontsize=8, framealpha=0.7)
        ax.set_xlim(0, width)
        ax.set_ylim(height, 0)
        ax.set_xlabel("column (pixels)")
        ax.set_ylabel("row (pixels)")
        ax.set_title(
            f"{result.count} ship{'s' if result.count != 1 else ''} detected "
            f"(probability >= {result.threshold:g}; {result.window}-pixel windows, "
            f"stride {result.stride})"
        )
        self.figure_, self.ax_ = fig, ax
        return self


class ActivityDisplay(_Display):
    """Ships per period, one line per port: the port-activity time series.

    Each point is the mean number of ships over the scenes of its period; its
    marker area grows with the number of scenes behind it, which is written
    beside it, so a point resting on one scene is seen as such.

    Parameters
    ----------
    activity : pandas.DataFrame
        As returned by :func:`sklship.activity.port_activity`: aoi, period,
        n_scenes, mean_ships, max_ships.
    freq : str or None, default=None
        The period ("D", "W" or "M"), for the axis label.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
    ax_ : matplotlib.axes.Axes
    lines_ : dict of str to matplotlib.lines.Line2D
        One line per area of interest.

    Examples
    --------
    >>> from sklship.activity import port_activity
    >>> from sklship.plotting import ActivityDisplay
    >>> ActivityDisplay.from_counts(counts, freq="W").savefig("activity.png")  # doctest: +SKIP
    """

    def __init__(self, activity, *, freq=None):
        self.activity = activity
        self.freq = freq

    @classmethod
    def from_counts(cls, counts, *, freq="W", min_valid_fraction=0.5, ax=None):
        """Compute :func:`~sklship.activity.port_activity` from counts, then plot."""
        from .activity import port_activity

        activity = port_activity(counts, freq=freq, min_valid_fraction=min_valid_fraction)
        return cls(activity, freq=freq).plot(ax=ax)

    def plot(self, ax=None):
        """Draw the lines (a new figure unless ``ax`` is given).

        Returns
        -------
        display : ActivityDisplay
        """
        import matplotlib.pyplot as plt

        from .activity import FREQUENCIES

        if ax is None:
            fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        else:
            fig = ax.figure
        self.lines_ = {}
        largest = max(1, int(self.activity["n_scenes"].max())) if len(self.activity) else 1
        for aoi, series in self.activity.groupby("aoi", sort=True):
            (line,) = ax.plot(series["period"], series["mean_ships"], "-", label=aoi)
            ax.scatter(series["period"], series["mean_ships"], color=line.get_color(),
                       s=20 + 100 * series["n_scenes"] / largest, zorder=3)
            for when, ships, n in series[["period", "mean_ships", "n_scenes"]].itertuples(
                    index=False):
                ax.annotate(f"{n}", (when, ships), textcoords="offset points",
                            xytext=(0, 7), ha="center", fontsize=7,
                            color=line.get_color())
            self.lines_[aoi] = line
        if not len(self.activity):
            ax.text(0.5, 0.5, "no dated counts", ha="center", va="center",
                    transform=ax.transAxes)
        period = FREQUENCIES.get(self.freq, "period")
        ax.set_xlabel(f"{period} (first day)")
        ax.set_ylabel(f"ships (mean over the scenes of the {period})")
        ax.set_ylim(bottom=0)
        ax.set_title("Ships per port; numbers: scenes behind each point "
                     "(marker area grows with them)", fontsize=9)
        if self.lines_:
            ax.legend(title="area of interest", fontsize=8)
        fig.autofmt_xdate()
        self.figure_, self.ax_ = fig, ax
        return self
