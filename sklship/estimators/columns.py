"""Choosing and checking the columns of wide & deep inputs.

Columns are named (DataFrames), indexed, or chosen by a callable such as
:func:`sklearn.compose.make_column_selector`; every error names the
parameter and the offending columns.
"""

from numbers import Integral

import numpy as np
import pandas as pd
from sklearn_compat.utils.validation import check_array

__all__ = ["column_labels", "numeric_block", "select_columns"]

# Values listed in full in an error message; more are cut short.
_MAX_LISTED = 10


def listed(values):
    """``values`` as a list for an error message, cut short when long."""
    values = list(values)
    if len(values) <= _MAX_LISTED:
        return repr(values)
    return f"{values[:_MAX_LISTED]!r} and {len(values) - _MAX_LISTED} more"


def column_labels(positions, names):
    """Column names (for DataFrames) or positions, for messages."""
    return [str(names[i]) if names is not None else int(i) for i in positions]

def select_columns(param, spec, X, names):
    """Positions of the columns named or indexed by ``spec``."""
    n_features = X.shape[1]
    if spec is None:
        return np.array([], dtype=int)
    if callable(spec):
        spec = spec(X)
    values = list(np.atleast_1d(np.asarray(spec, dtype=object)))
    if all(isinstance(v, str) for v in values):
        if names is None:
            raise ValueError(
                f"{param} selects columns by name ({listed(values)}), but X "
                "has no column names; pass X as a pandas DataFrame with string "
                "column names or select columns by integer position."
            )
        position = {name: i for i, name in enumerate(names)}
        missing = [v for v in values if v not in position]
        if missing:
            raise ValueError(
                f"{param} names columns that are not in X: {listed(missing)}. "
                f"X has the columns {listed(names)}."
            )
        positions = [position[v] for v in values]
    elif all(isinstance(v, Integral) and not isinstance(v, bool) for v in values):
        outside = [int(v) for v in values if not -n_features <= v < n_features]
        if outside:
            raise ValueError(
                f"{param} holds column positions {listed(outside)} outside "
                f"X, which has {n_features} columns."
            )
        positions = [int(v) % n_features for v in values]
    else:
        raise TypeError(
            f"{param} must hold column names (str) or column positions (int), "
            f"not a mix of them or other values; got {spec!r}."
        )
    duplicated = sorted({v for v in positions if positions.count(v) > 1})
    if duplicated:
        raise ValueError(
            f"{param} selects some columns more than once: "
            f"{listed(column_labels(duplicated, names))}."
        )
    return np.array(positions, dtype=int)


def numeric_block(X, positions, name):
    """Columns ``positions`` of X as a uint8 or float32 array, checked.

    ``name`` (the estimator's) is named in the errors.

    uint8 columns stay uint8 (images are rescaled inside the model);
    everything else becomes float32. Non-numeric columns raise a
    TypeError naming them.
    """
    is_frame = hasattr(X, "iloc")
    block = X.iloc[:, positions] if is_frame else X[:, positions]
    bad, reason = [], ""
    if is_frame:
        for column, dtype in block.dtypes.items():
            if not pd.api.types.is_numeric_dtype(dtype):
                bad.append(str(column))
                reason = reason or f"dtype {dtype}"
    elif block.dtype.kind not in "biuf":
        for j, position in enumerate(positions):
            try:
                np.asarray(block[:, j], dtype=np.float64)
            except (TypeError, ValueError) as exc:
                bad.append(int(position))
                reason = reason or str(exc)
    if bad:
        raise TypeError(
            f"{name} needs numeric columns; the columns "
            f"{listed(bad)} of X are not numeric ({reason}). Encode them first, "
            "e.g. with sklship.ChipMetadataEncoder (scene one-hot, location "
            "bins) or a OneHotEncoder in a ColumnTransformer."
        )
    if block.shape[1] == 0:
        return np.zeros((X.shape[0], 0), dtype=np.uint8)
    return check_array(block, dtype=(np.float32, np.uint8), ensure_all_finite=True,
                       input_name="X")
