"""Wide features from chip metadata: scene fixed effects and location bins.

What ``tf.feature_column`` did for the old wide & deep estimators
(``categorical_column_with_vocabulary_list``, ``bucketized_column``,
``crossed_column``), as one scikit-learn transformer.
"""

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import KBinsDiscretizer, OneHotEncoder
from sklearn.utils.validation import check_is_fitted
from sklearn_compat.utils.validation import check_array, validate_data

from .._validation import Interval, StrOptions
from .columns import select_columns

__all__ = ["ChipMetadataEncoder"]

FEATURES = ("scene", "longitude", "latitude", "cross")
SCENE_COLUMN, LONGITUDE_COLUMN, LATITUDE_COLUMN = "scene_id", "longitude", "latitude"
# Name of each feature's one-hot group in get_feature_names_out.
_GROUP_NAMES = {"scene": "scene_id", "longitude": "longitude_bin",
                "latitude": "latitude_bin", "cross": "location_cross"}


class ChipMetadataEncoder(TransformerMixin, BaseEstimator):
    """One-hot scene fixed effects, longitude/latitude bins and their cross.

    Turns chip metadata (``scene_id``, ``longitude``, ``latitude``, as in
    ``load_shipsnet(as_frame=True).frame``) into 0/1 wide features for
    :class:`WideDeepClassifier` or a linear model:

    - ``"scene"``: one column per scene seen in ``fit`` (fixed effects);
    - ``"longitude"``, ``"latitude"``: one column per bin of each
      coordinate (``tf.feature_column.bucketized_column``);
    - ``"cross"``: one column per (longitude bin, latitude bin) cell seen
      in ``fit`` (``tf.feature_column.crossed_column`` without hashing:
      cells are few, so each gets its own column and none collide).

    Scenes and cells not seen in ``fit`` get all-zero columns; coordinates
    outside the fitted range fall into the outermost bins. The output is
    uint8, so stacked with uint8 pixels it keeps X uint8.

    Parameters
    ----------
    features : sequence of {"scene", "longitude", "latitude", "cross"}, \
            default=("scene", "longitude", "latitude", "cross")
        Feature groups to produce, in this order.
    n_bins : int, default=8
        Bins per coordinate (at least 2). Quantile bins that would be
        empty are merged, so there may be fewer.
    strategy : {"quantile", "uniform"}, default="quantile"
        Bins of equal counts or of equal width.
    columns : sequence of str or int, or None, default=None
        Where X holds the metadata the features read, in the order
        ``scene_id``, ``longitude``, ``latitude`` (only those needed):
        column names of a DataFrame or positions; X's other columns are
        ignored. None: a DataFrame's columns of those names, or an array of
        exactly those columns (see Notes).

    Attributes
    ----------
    discretizer_ : KBinsDiscretizer or None
        Fitted binning of (longitude, latitude); None without location
        features.
    encoder_ : OneHotEncoder
        Fitted one-hot encoding of the scene, bins and cells.
    n_features_in_ : int
        Number of columns of X (with ``columns=None`` and a DataFrame: of
        the metadata columns read).
    feature_names_in_ : ndarray of str
        Names of those columns, when X was a DataFrame.

    See Also
    --------
    WideDeepClassifier : Uses these features in its wide part.

    Notes
    -----
    X is a DataFrame with the columns ``scene_id``, ``longitude`` and
    ``latitude`` (others are ignored), or a 2-D array holding the columns
    the chosen features need in that order: ``scene_id`` for ``"scene"``,
    ``longitude`` and ``latitude`` for the others. In a
    ``ColumnTransformer`` pass the DataFrame column names. ``columns``
    reads them from anywhere in X, under any names.

    Examples
    --------
    >>> from sklship import ChipMetadataEncoder, make_ships
    >>> frame = make_ships(200, image_size=16, n_scenes=4, random_state=0,
    ...                    as_frame=True).frame
    >>> encoder = ChipMetadataEncoder(n_bins=3).fit(frame)
    >>> encoder.transform(frame).shape[1] == len(encoder.get_feature_names_out())
    True
    >>> encoder.get_feature_names_out()[:2].tolist()
    ['scene_id_synthetic_000', 'scene_id_synthetic_001']
    """

    _parameter_constraints = {
        "features": ["array-like"],
        "n_bins": [Interval(Integral, 2, None, closed="left")],
        "strategy": [StrOptions({"quantile", "uniform"})],
        "columns": ["array-like", None],
    }

    # For encoders pickled before the parameter existed.
    columns = None

    def __init__(self, features=FEATURES, *, n_bins=8, strategy="quantile",
                 columns=None):
        self.features = features
        self.n_bins = n_bins
        self.strategy = strategy
        self.columns = columns

    def fit(self, X, y=None):
        """Learn the scenes, the bin edges and the cells.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            Chip metadata (see Notes).
        y : None
            Ignored.

        Returns
        -------
        self : object
            The fitted encoder.
        """
        self._validate_params()
        features = self._checked_features()
        scene, location = self._read(X, features, reset=True)
        self.discretizer_ = None
        if location is not None:
            self.discretizer_ = KBinsDiscretizer(
                n_bins=self.n_bins, encode="ordinal", strategy=self.strategy,
                subsample=None,
            ).fit(location)
        groups = self._groups(features, scene, location)
        self.encoder_ = OneHotEncoder(handle_unknown="ignore", sparse_output=False,
                                      dtype=np.uint8).fit(groups)
        return self

    def transform(self, X):
        """One-hot wide features.

        Parameters
        ----------
        X : DataFrame or array-like of shape (n_samples, n_columns)
            Chip metadata in the form used for fitting.

        Returns
        -------
        features : ndarray of shape (n_samples, n_features_out), dtype uint8
            0/1 columns, named by :meth:`get_feature_names_out`.
        """
        check_is_fitted(self, "encoder_")
        features = self._checked_features()
        scene, location = self._read(X, features, reset=False)
        return self.encoder_.transform(self._groups(features, scene, location))

    def get_feature_names_out(self, input_features=None):
        """Names of the output columns, e.g. ``location_cross_03_05``.

        Parameters
        ----------
        input_features : None
            Ignored; the names come from the fitted groups.

        Returns
        -------
        feature_names_out : ndarray of str
            One name per output column.
        """
        check_is_fitted(self, "encoder_")
        groups = [_GROUP_NAMES[f] for f in self._checked_features()]
        return self.encoder_.get_feature_names_out(groups)

    def _checked_features(self):
        features = tuple(np.atleast_1d(np.asarray(self.features, dtype=object)))
        unknown = [f for f in features if f not in FEATURES]
        if unknown or not features or len(set(features)) != len(features):
            raise ValueError(
                f"features must name each of {FEATURES} at most once and at least "
                f"one of them; got {self.features!r}."
            )
        return features

    def _read(self, X, features, reset):
        """The scene column (str) and the (longitude, latitude) columns, checked."""
        needed = ([SCENE_COLUMN] if "scene" in features else []) + (
            [LONGITUDE_COLUMN, LATITUDE_COLUMN] if set(features) - {"scene"} else []
        )
        if self.columns is not None:
            columns = self._columns_at(X, needed, reset)
        elif hasattr(X, "iloc"):
            missing = [c for c in needed if c not in X.columns]
            if missing:
                raise ValueError(
                    f"ChipMetadataEncoder needs the columns {needed} of X; X has no "
                    f"column {missing}. Its columns are {list(X.columns)}. Pass "
                    "columns=[...] to read them under other names."
                )
            X = X[needed]  # other columns are ignored, at fit and transform alike
            validate_data(self, X, reset=reset, skip_check_array=True)
            columns = {c: X[c].to_numpy() for c in needed}
        else:
            X = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
            if X.shape[1] != len(needed):
                raise ValueError(
                    f"ChipMetadataEncoder with features={self.features!r} expects X "
                    f"with the {len(needed)} columns {needed} in this order; got X "
                    f"with {X.shape[1]} columns. Pass a DataFrame to select them by "
                    "name, or columns=[...] to select them by position."
                )
            validate_data(self, X, reset=reset, skip_check_array=True)
            columns = dict(zip(needed, X.T, strict=True))
        scene = columns[SCENE_COLUMN].astype(str) if SCENE_COLUMN in columns else None
        location = None
        if LONGITUDE_COLUMN in columns:
            try:
                location = np.column_stack(
                    [columns[LONGITUDE_COLUMN], columns[LATITUDE_COLUMN]]
                ).astype(np.float64)
            except (TypeError, ValueError) as exc:
                raise type(exc)(
                    "ChipMetadataEncoder needs numeric longitude and latitude "
                    f"columns; converting them failed: {exc}."
                ) from None
            location = check_array(location, input_name="longitude and latitude")
        return scene, location

    def _columns_at(self, X, needed, reset):
        """The ``needed`` columns of X, from where ``columns`` says they are."""
        if not hasattr(X, "iloc"):
            X = check_array(X, dtype=None, ensure_all_finite=False, input_name="X")
        validate_data(self, X, reset=reset, skip_check_array=True)
        if X.shape[1] < len(needed):
            raise ValueError(
                f"ChipMetadataEncoder with features={self.features!r} reads the "
                f"{len(needed)} columns {needed} of X; got X with {X.shape[1]} "
                "feature(s)."
            )
        positions = select_columns("columns", self.columns, X,
                                   getattr(self, "feature_names_in_", None))
        if len(positions) != len(needed):
            raise ValueError(
                f"columns must select the {len(needed)} columns {needed} that "
                f"features={self.features!r} read, in this order; got "
                f"columns={self.columns!r}."
            )
        values = X.iloc[:, positions].to_numpy() if hasattr(X, "iloc") else X[:, positions]
        return dict(zip(needed, values.T, strict=True))

    def _groups(self, features, scene, location):
        """One categorical column (str) per feature group."""
        groups = {"scene": scene}
        if location is not None:
            width = len(str(self.n_bins - 1))  # zero-padded bins sort in order
            bins = self.discretizer_.transform(location).astype(int)
            longitude, latitude = (np.char.zfill(b.astype(str), width) for b in bins.T)
            groups.update(longitude=longitude, latitude=latitude,
                          cross=np.char.add(np.char.add(longitude, "_"), latitude))
        return np.column_stack([groups[f] for f in features]).astype(object)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.transformer_tags.preserves_dtype = []  # always uint8 0/1 columns
        return tags
