"""Pictures of scans and of port activity.

:class:`ScanDisplay` draws a scanned scene with its heat map, boxed
detections, areas of interest and masked (unusable) parts;
:class:`ActivityDisplay` draws ships per period and port, or their index
with its interval.
"""

import numpy as np

from .._display import Display
from .activity import FREQUENCIES, port_activity
from .scan import scan_scene
from .sources import open_scene

__all__ = ["ActivityDisplay", "ScanDisplay"]


class ScanDisplay(Display):
    """A scanned scene with its ship-probability heat map and detections boxed.

    Create it with :meth:`from_result` (or :meth:`from_estimator`, which
    scans first); ``plot`` draws and ``savefig`` writes a PNG.

    Parameters
    ----------
    scene : ndarray of shape (height, width, 3)
        The scanned image, or a decimated overview of it (drawn over the
        scene's full pixel extent, ``result.scene_shape``).
    result : ScanResult
        What :func:`sklship.scenes.scan.scan_scene` returned for ``scene``.
    true_positions : pandas.DataFrame or ndarray of shape (n, 2) or None, \
            default=None
        Known ship centres (row, col), drawn as crosses (e.g. from
        :func:`sklship.scenes.scan.make_scene`).

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
    areas_ : list of matplotlib.patches.Polygon
        The outlines of the areas of interest.
    masked_ : matplotlib.image.AxesImage or None
        Grey over the parts without usable data (nodata, clouds, ...).

    Examples
    --------
    >>> from sklship.scenes.display import ScanDisplay
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
        """Plot a :class:`~sklship.scenes.scan.ScanResult` over its scene."""
        display = cls(np.asarray(scene), result, true_positions=true_positions)
        return display.plot(ax=ax, cmap=cmap, annotate=annotate)

    @classmethod
    def from_estimator(cls, estimator, scene, *, true_positions=None, ax=None,
                       cmap="inferno", annotate=True, **scan_params):
        """Scan ``scene`` with ``estimator`` (see ``scan_scene``), then plot.

        A scene file is drawn from its decimated overview (at most
        :data:`sklship.scenes.sources.OVERVIEW_SIDE` pixels a side).
        """
        result = scan_scene(estimator, scene, **scan_params)
        with open_scene(scene, bands=result.bands, scale=result.scale,
                        reflectance=scan_params.get("reflectance")) as source:
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
        rgb = scene if scene.shape[2] == 3 else scene[..., :3]
        if rgb.dtype.kind == "f":  # reflectance: below 0 shows black, above 1 white
            rgb = np.clip(rgb, 0, 1)
        self.image_ = ax.imshow(rgb, interpolation="nearest", extent=(0, width, height, 0))

        self.masked_ = None
        if getattr(result, "usable", None) is not None and not result.usable.all():
            grey = np.zeros((*result.usable.shape, 4))
            grey[~result.usable] = (0.55, 0.55, 0.6, 0.7)
            self.masked_ = ax.imshow(grey, extent=(0, width, height, 0),
                                     interpolation="nearest")

        # Each probability covers the stride x stride cell around its window's
        # centre; on a resampled grid, in the scene's pixels (grid.to_scene).
        grid = result.probabilities
        scan_grid = result.grid
        half, step = scan_grid.scale * result.window / 2, scan_grid.scale * result.stride
        top, left = scan_grid.to_scene(*scan_grid.centre(0, 0))
        bottom, right = scan_grid.to_scene(*scan_grid.centre(grid.shape[0] - 1,
                                                             grid.shape[1] - 1))
        extent = (left - step / 2, right + step / 2, bottom + step / 2, top - step / 2)
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
            box = Rectangle((col - half, row - half), 2 * half, 2 * half,
                            fill=False, edgecolor="cyan", linewidth=1.2)
            ax.add_patch(box)
            self.boxes_.append(box)
            if annotate:
                above = row - half >= 0.04 * height  # else the label goes below
                ax.text(col - half, row - half - 2 if above else row + half + 2,
                        f"{probability:.2f}", color="cyan", fontsize=7,
                        va="bottom" if above else "top", clip_on=True)
        self.areas_ = _draw_areas(ax, getattr(result, "areas", None))
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


def _draw_areas(ax, areas):
    """Outline areas of interest (scene pixels, x = col, y = row); return the patches."""
    from matplotlib.patches import Polygon

    patches = []
    for name, area in (areas or {}).items():
        for part in getattr(area, "geoms", [area]):
            patch = Polygon(np.asarray(part.exterior.coords), closed=True, fill=False,
                            edgecolor="yellow", linewidth=1, linestyle="--")
            ax.add_patch(patch)
            patches.append(patch)
        x, y = area.representative_point().coords[0]
        ax.text(x, y, name, color="yellow", fontsize=7, ha="center", clip_on=True)
    return patches


class ActivityDisplay(Display):
    """Ships per period, one line per port: the port-activity time series.

    Each point is the mean number of ships over the scenes of its period (or,
    when ``activity`` has an ``index`` column, that index: 100 = the base
    period), with its 90 % interval as a band; its marker area grows with the
    number of scenes behind it, which is written beside it, and thin periods
    (``thin``: fewer than 3 scenes) are drawn hollow, so a point resting on
    one scene is seen as such.

    Parameters
    ----------
    activity : pandas.DataFrame
        As returned by :func:`sklship.scenes.activity.port_activity`: aoi, period,
        n_scenes, mean_ships, max_ships.
    freq : str or None, default=None
        The period ("D", "W" or "M"), for the axis label.

    Attributes
    ----------
    figure_ : matplotlib.figure.Figure
    ax_ : matplotlib.axes.Axes
    lines_ : dict of str to matplotlib.lines.Line2D
        One line per area of interest.
    bands_ : dict of str to matplotlib.collections.PolyCollection
        The 90 % interval of each line (when ``activity`` has it).

    Examples
    --------
    >>> from sklship.scenes.activity import port_activity
    >>> from sklship.scenes.display import ActivityDisplay
    >>> ActivityDisplay.from_counts(counts, freq="W").savefig("activity.png")  # doctest: +SKIP
    """

    def __init__(self, activity, *, freq=None):
        self.activity = activity
        self.freq = freq

    @classmethod
    def from_counts(cls, counts, *, freq="W", min_valid_fraction=0.5, ax=None,
                    **activity_params):
        """Compute :func:`~sklship.scenes.activity.port_activity` from counts, then plot.

        ``activity_params`` (``base``, ``min_clear``, ...) go to ``port_activity``.
        """
        activity = port_activity(counts, freq=freq, min_valid_fraction=min_valid_fraction,
                                 **activity_params)
        return cls(activity, freq=freq).plot(ax=ax)

    def plot(self, ax=None):
        """Draw the lines (a new figure unless ``ax`` is given).

        Returns
        -------
        display : ActivityDisplay
        """
        import matplotlib.pyplot as plt

        if ax is None:
            fig, ax = plt.subplots(figsize=(8, 4.5), layout="constrained")
        else:
            fig = ax.figure
        self.lines_, self.bands_ = {}, {}
        largest = max(1, int(self.activity["n_scenes"].max())) if len(self.activity) else 1
        value = "index" if "index" in self.activity else "mean_ships"
        low, high = ("index_low", "index_high") if value == "index" else ("mean_low",
                                                                           "mean_high")
        for aoi, series in self.activity.groupby("aoi", sort=True):
            (line,) = ax.plot(series["period"], series[value], "-", label=aoi)
            colour = line.get_color()
            if low in series:
                self.bands_[aoi] = ax.fill_between(series["period"], series[low],
                                                   series[high], color=colour, alpha=0.2,
                                                   linewidth=0)
            thin = series["thin"] if "thin" in series else np.zeros(len(series), bool)
            sizes = 20 + 100 * series["n_scenes"] / largest
            ax.scatter(series["period"][~thin], series[value][~thin], color=colour,
                       s=sizes[~thin], zorder=3)
            ax.scatter(series["period"][thin], series[value][thin], facecolor="white",
                       edgecolor=colour, s=sizes[thin], zorder=3)
            for when, ships, n in series[["period", value, "n_scenes"]].itertuples(
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
        ax.set_ylabel("index (100 = base period mean)" if value == "index" else
                      f"ships (mean over the scenes of the {period})")
        ax.set_ylim(bottom=0)
        ax.set_title(("Activity index per port" if value == "index" else "Ships per port")
                     + "; band: 90 % bootstrap interval; numbers: scenes behind each "
                     "point (hollow: fewer than 3)", fontsize=9)
        if self.lines_:
            ax.legend(title="area of interest", fontsize=8)
        fig.autofmt_xdate()
        self.figure_, self.ax_ = fig, ax
        return self
