"""scikit-learn's parameter validation, imported in one place.

The constraint classes and ``validate_params`` live in a private scikit-learn
module; importing them here (and re-exporting them through ``_base``) keeps a
change in scikit-learn to one file. This module imports no TensorFlow, so
``sklship.datasets`` and ``sklship.scenes.scan`` can use it and stay light.
"""

from sklearn.utils._param_validation import (
    HasMethods,
    Interval,
    StrOptions,
    validate_parameter_constraints,
    validate_params,
)

__all__ = ["HasMethods", "Interval", "StrOptions", "validate_parameter_constraints",
           "validate_params"]
