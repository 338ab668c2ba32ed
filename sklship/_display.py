"""What every sklship display shares (scikit-learn's ``*Display`` pattern).

Each display holds what it draws, ``plot(ax=...)`` draws it and returns the
display, whose ``figure_``, ``ax_`` and artists can then be restyled.
matplotlib is imported only when drawing.
"""

from ._io import atomic_path

__all__ = ["Display", "save_figure"]


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


class Display:
    """``savefig`` shared by the displays: draw if needed, then write atomically."""

    def savefig(self, path, *, dpi=150):
        """Write the figure to ``path`` (PNG by its extension); returns the path."""
        if not hasattr(self, "figure_"):
            self.plot()
        return save_figure(self.figure_, path, dpi=dpi)
