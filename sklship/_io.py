"""Reading images and writing files: the file operations sklship shares.

Every file sklship writes goes through :func:`atomic_path` or
:func:`atomic_write`: the data goes to a temporary file in the target's
folder, is flushed to disk, and replaces the target in one rename, so an
interrupted write leaves the previous file as it was.

Images (chips and PNG/JPEG scenes) are read by :func:`read_rgb`, as 8-bit RGB.
"""

import contextlib
import io
import os
import re
import tempfile
from pathlib import Path

import numpy as np

__all__ = ["atomic_path", "atomic_write", "read_rgb", "remove_leftovers"]

# Names atomic_path gives its temporary files (mkstemp adds 8 random characters).
_TEMPORARY = re.compile(r"\..+\.[A-Za-z0-9_]{8}\.tmp(\.[^.]+)?")

# Permissions a new file gets (mkstemp creates 0600 files); read once, at import.
_UMASK = os.umask(0)
os.umask(_UMASK)


# --------------------------------------------------------------------------
# Atomic writes
# --------------------------------------------------------------------------


@contextlib.contextmanager
def atomic_path(path):
    """A temporary path to write to; it replaces ``path`` only if the block succeeds.

    The temporary file is created in the folder of ``path`` (so the final
    ``os.replace`` is one atomic rename) and ends with the same suffix, so
    writers that pick a format by extension (matplotlib, joblib) behave
    as with ``path``. After the block the file is flushed to disk
    (``fsync``) and renamed over ``path``; if the block raises, the
    temporary file is removed and ``path`` is left untouched.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (re)write; its folder must exist.

    Yields
    ------
    tmp : pathlib.Path
        Where to write.

    Examples
    --------
    >>> import numpy as np
    >>> from sklship._io import atomic_path
    >>> with atomic_path("array.npy") as tmp:  # doctest: +SKIP
    ...     np.save(tmp, np.arange(3))
    """
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.",
                               suffix=f".tmp{path.suffix}")
    os.close(fd)
    tmp = Path(tmp)
    try:
        yield tmp
        os.chmod(tmp, 0o666 & ~_UMASK)
        with open(tmp, "rb+") as written:
            os.fsync(written.fileno())
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


@contextlib.contextmanager
def atomic_write(path, mode="w", *, encoding="utf-8", newline=None):
    """Open a file for writing that replaces ``path`` only when it is complete.

    Parameters
    ----------
    path : str or os.PathLike
        The file to (re)write; its folder must exist.
    mode : {"w", "wb"}, default="w"
        Text or binary.
    encoding : str, default="utf-8"
        Encoding in text mode.
    newline : str or None, default=None
        As in :func:`open` (text mode; ``""`` for the csv module).

    Yields
    ------
    file : file object
        Open for writing; see :func:`atomic_path` for what happens after.
    """
    if mode not in ("w", "wb"):
        raise ValueError(f"mode must be 'w' or 'wb'; got {mode!r}.")
    text = {"encoding": encoding, "newline": newline} if mode == "w" else {}
    with atomic_path(path) as tmp, open(tmp, mode, **text) as file:
        yield file


def remove_leftovers(folder):
    """Remove the temporary files that interrupted writes left in ``folder``.

    A process killed inside :func:`atomic_path` (``kill -9``, power loss)
    cannot remove its temporary file, ``.<name>.<random>.tmp<suffix>``. Call
    this when a run that writes into ``folder`` starts again, while nothing
    else writes there.

    Parameters
    ----------
    folder : str or os.PathLike
        The folder (not its subfolders).

    Returns
    -------
    removed : list of pathlib.Path
        The files removed, sorted.
    """
    removed = sorted(path for path in Path(folder).glob(".*.tmp*")
                     if path.is_file() and _TEMPORARY.fullmatch(path.name))
    for path in removed:
        path.unlink(missing_ok=True)
    return removed


def _fsync_folder(folder):
    """Make the rename itself durable (POSIX); a no-op where folders cannot be opened."""
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


# --------------------------------------------------------------------------
# Reading images
# --------------------------------------------------------------------------


#: Pillow's modes of one band of more than 8 bits (16-bit PNG, float TIFF).
HIGH_BIT_MODES = frozenset({"I", "I;16", "I;16B", "I;16L", "I;16N", "F"})
#: Pillow's modes of one 8-bit band (and alpha).
GREY_MODES = frozenset({"1", "L", "LA", "La"})


def image_mode(path):
    """Pillow's mode of an image file (``"RGB"``, ``"L"``, ``"I;16"``...); None if
    Pillow cannot read it (:func:`read_rgb` then says why)."""
    from PIL import Image

    try:
        with Image.open(path) as image:
            return image.mode
    except (OSError, SyntaxError):
        return None


def read_rgb(source: str | os.PathLike | bytes, *, name: str | None = None,
             size: int | None = None, alpha: bool = False):
    """Read an image file (PNG, JPEG, ... anything Pillow reads) as 8-bit RGB.

    Parameters
    ----------
    source : str, os.PathLike or bytes
        The file, or its content.
    name : str or None, default=None
        What to call the image in error messages; None uses ``source`` when it
        is a path.
    size : int or None, default=None
        When given, the image must be ``size x size`` pixels.
    alpha : bool, default=False
        Also return the image's alpha channel.

    Returns
    -------
    image : ndarray of shape (height, width, 3), dtype uint8
    alpha : ndarray of shape (height, width), dtype uint8, or None
        Only with ``alpha=True``: the alpha channel, None when the image has
        no transparency.

    Raises
    ------
    FileNotFoundError
        If ``source`` is a path that does not exist.
    ValueError
        If the content is not an image Pillow can read, or has another size.
    """
    from PIL import Image

    if isinstance(source, (bytes, bytearray)):
        name, opened = name or "image", io.BytesIO(source)
    else:
        source = Path(source)
        name = name or str(source)
        if not source.exists():
            raise FileNotFoundError(f"{name} does not exist.")
        opened = source
    try:
        with Image.open(opened) as image:
            if size is not None and image.size != (size, size):
                width, height = image.size
                raise ValueError(
                    f"{name} is {width}x{height} pixels; expected {size}x{size}."
                )
            rgb = np.asarray(image.convert("RGB"))
            if not alpha:
                return rgb
            if image.mode not in ("RGBA", "LA", "PA") and "transparency" not in image.info:
                return rgb, None
            return rgb, np.asarray(image.convert("RGBA").getchannel("A"))
    except (OSError, SyntaxError) as exc:  # includes PIL.UnidentifiedImageError
        raise ValueError(f"Cannot read {name}: not an image Pillow can read "
                         f"({exc}).") from exc
