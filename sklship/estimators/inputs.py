"""Checks of the inputs of sklship's Keras estimators, with errors that name the problem."""

from numbers import Integral

import numpy as np
import scipy.sparse as sp
from sklearn_compat.utils.validation import _check_feature_names, check_array, validate_data

__all__ = ["check_image_shape", "check_input_spec", "check_units", "dense_input",
           "images_or_rows"]


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


def check_input_spec(estimator, X):
    """Check that X has the shape and the uint8-ness of the fitted inputs.

    Parameters
    ----------
    estimator : estimator
        A fitted sklship Keras estimator (``input_shape_``, ``X_dtype_``).
    X : ndarray
        Validated input, in the form the network takes.

    Raises
    ------
    ValueError
        Naming the shape or dtype received and the one fitted on.
    """
    name = type(estimator).__name__
    if tuple(X.shape[1:]) != estimator.input_shape_:
        what = "images of shape" if X.ndim == 4 else "inputs of shape"
        raise ValueError(
            f"X has {what} {tuple(X.shape[1:])}, but {name} was fitted on "
            f"inputs of shape {estimator.input_shape_}."
        )
    if (X.dtype == np.uint8) != (estimator.X_dtype_ == np.uint8):
        raise ValueError(
            f"X has dtype {X.dtype}, but {name} was fitted on {estimator.X_dtype_} "
            "inputs. uint8 images are rescaled by 1/255 inside the model and "
            "others are not, so pass images in the form used for fitting."
        )


def check_units(name, units):
    """``units`` as a tuple of positive ints, or a ValueError naming ``name``."""
    values = tuple(np.ravel(units)) if units is not None else ()
    if not all(isinstance(u, Integral) and u > 0 for u in values):
        raise ValueError(
            f"{name} must be a sequence of positive integers; got {units!r}."
        )
    return tuple(int(u) for u in values)


def images_or_rows(estimator, X, *, reset):
    """X checked as 4-D images or 2-D rows of numbers, and its width recorded.

    Sets (``reset``) or checks ``n_features_in_`` (values per sample: height
    x width x channels for images) and ``feature_names_in_``.

    Parameters
    ----------
    estimator : estimator
        The estimator fitting or predicting.
    X : array-like
        Images (n, height, width, channels) or rows (n, n_features).
    reset : bool
        Whether this is ``fit`` (record) or a later call (check).

    Returns
    -------
    X : ndarray
        Finite numbers, uint8 kept uint8.
    """
    X = dense_input(estimator, X, images=True)
    if X.ndim == 4:
        _check_feature_names(estimator, X, reset=reset)
        X = check_array(X, allow_nd=True, dtype="numeric", ensure_all_finite=True,
                        input_name="X")
        if reset:
            estimator.n_features_in_ = int(np.prod(X.shape[1:]))
        return X
    # validate_data rejects 1-D X with sklearn's "Reshape your data" advice.
    return validate_data(estimator, X, reset=reset, dtype="numeric",
                         ensure_all_finite=True, skip_check_array=False)
