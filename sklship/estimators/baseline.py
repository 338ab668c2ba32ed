"""A logistic-regression baseline on flattened pixels."""

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

__all__ = ["make_baseline"]


def flatten_images(X):
    """(n, height, width, channels) images to (n, pixels * channels) rows.

    Rows (2-D input) are returned as they are.
    """
    X = np.asarray(X)
    return X.reshape(X.shape[0], -1)


def make_baseline(*, C=1.0, max_iter=1000, class_weight=None, random_state=None):
    """Standardised logistic regression on flattened pixels.

    The yardstick every network should beat: each pixel value is
    standardised and a linear model separates ships from the rest.

    Parameters
    ----------
    C : float, default=1.0
        Inverse regularisation strength of the logistic regression.
    max_iter : int, default=1000
        Iterations of the solver.
    class_weight : dict, "balanced" or None, default=None
        Weights of the classes.
    random_state : int, RandomState instance or None, default=None
        Seed of the solver, where it uses one.

    Returns
    -------
    pipeline : sklearn.pipeline.Pipeline
        Unfitted steps ``flatten``, ``scale`` and ``logistic``.

    Examples
    --------
    >>> from sklship import make_baseline, make_ships
    >>> X, y = make_ships(200, image_size=16, random_state=0, return_X_y=True)
    >>> make_baseline().fit(X, y).predict(X[:3]).shape
    (3,)
    """
    return Pipeline([
        ("flatten", FunctionTransformer(flatten_images)),
        ("scale", StandardScaler()),
        ("logistic", LogisticRegression(C=C, max_iter=max_iter,
                                        class_weight=class_weight,
                                        random_state=random_state)),
    ])
