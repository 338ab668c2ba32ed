"""Checks of the inputs of sklship's Keras estimators, with errors that name the problem."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp

__all__ = ["check_image_shape", "check_units", "dense_input"]


def dense_input(estimator, X, *, images):
    """X as an array (DataFrames kept for their column names), or a clear error.

    Parameters
    ----------
    estimator : object
        The estimator, named in the errors.
    X : array-like
        The input.
    images : bool
        Whether 4-D images are accepted besides 2-D rows.

    Returns
    -------
    X : ndarray or DataFrame
        Not yet checked for values or sample counts.

    Raises
    ------
    TypeError
        For sparse X.
    ValueError
        For X of more dimensions than accepted.
    """
    name = type(estimator).__name__
    if sp.issparse(X):
        raise TypeError(
            f"{name} does not accept sparse input; got a {type(X).__name__}. "
            "Convert it to a dense array with X.toarray()."
        )
    if hasattr(X, "iloc"):
        return X
    X = np.asarray(X)
    if X.ndim > 2 and not (images and X.ndim == 4):
        expected = ("4-D images (n_samples, height, width, channels) or 2-D rows "
                    "(n_samples, n_features)" if images else
                    "2-D rows (n_samples, n_features)")
        advice = "" if images else (" Flatten images with X.reshape(len(X), -1) and "
                                    "pass image_shape.")
        raise ValueError(
            f"{name} expects X as {expected}; got X with {X.ndim} dimensions and "
            f"shape {X.shape}.{advice}"
        )
    return X


def check_image_shape(image_shape, n_values, values):
    """``image_shape`` as (height, width, channels) holding ``n_values`` values.

    Parameters
    ----------
    image_shape : array-like of int
        The parameter.
    n_values : int
        Values per sample that the images are made of.
    values : str
        What those values are, for the error ("deep columns", ...).

    Returns
    -------
    shape : tuple of 3 int
    """
    shape = tuple(int(d) for d in image_shape)
    if len(shape) != 3 or int(np.prod(shape)) != n_values:
        raise ValueError(
            f"image_shape={image_shape!r} must be (height, width, channels) with "
            f"height * width * channels equal to the {n_values} {values} X."
        )
    return shape


def check_units(name, units):
    """``units`` as a tuple of positive ints, or a ValueError naming ``name``."""
    values = tuple(np.ravel(units)) if units is not None else ()
    if not all(isinstance(u, Integral) and u > 0 for u in values):
        raise ValueError(
            f"{name} must be a sequence of positive integers; got {units!r}."
        )
    return tuple(int(u) for u in values)
