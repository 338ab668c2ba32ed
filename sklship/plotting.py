"""Display-style plots (scikit-learn's ``*Display`` pattern).

Each display holds what it draws, ``plot(ax=...)`` draws it and returns the
display, whose ``figure_``, ``ax_`` and artists can then be restyled.
matplotlib is imported only when drawing.
"""

import numpy as np

__all__ = ["ScanDisplay"]


class ScanDisplay:
    """A scanned scene with its ship-probability heat map and detections boxed.

    Create it with :meth:`from_result` (or :meth:`from_estimator`, which
    scans first); ``plot`` draws and ``savefig`` writes a PNG.

    Parameters
    ----------
    scene : ndarray of shape (height, width, 3)
        The scanned image.
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
        """Scan ``scene`` with ``estimator`` (see ``scan_scene``), then plot."""
        from .scan import _check_scene, scan_scene

        result = scan_scene(estimator, scene, **scan_params)
        scene = _check_scene(scene, result.window, None, None)
        return cls.from_result(result, scene, true_positions=true_positions, ax=ax,
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
        height, width = scene.shape[:2]
        if ax is None:
            scale = 9 / max(height, width)
            fig, ax = plt.subplots(figsize=(max(4.5, width * scale) + 1.5,
                                            max(3.5, height * scale) + 0.8),
                                   layout="constrained")
        else:
            fig = ax.figure
        self.image_ = ax.imshow(scene if scene.shape[2] == 3 else scene[..., :3],
                                interpolation="nearest")

        # Each probability covers the stride x stride cell around its window's centre.
        grid = result.probabilities
        half, step = result.window / 2, result.stride
        extent = (half - step / 2, half + (grid.shape[1] - 0.5) * step,
                  half + (grid.shape[0] - 0.5) * step, half - step / 2)
        norm = Normalize(0, 1)
        rgba = colormaps[cmap](norm(grid))
        rgba[..., 3] = 0.75 * np.clip(grid, 0, 1) ** 0.7  # low probability: see-through
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

    def savefig(self, path, *, dpi=150):
        """Write the figure to ``path`` (PNG by its extension); returns the path."""
        if not hasattr(self, "figure_"):
            self.plot()
        self.figure_.savefig(path, dpi=dpi)
        return path
