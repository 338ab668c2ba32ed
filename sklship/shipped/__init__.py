"""Models that ship with sklship, ready to scan with no training.

Each shipped model is a fitted estimator in sklship's native format, stored
in this package beside a JSON description (sensor, bands, ground
resolution, input values, training data and licence, the scan settings it
was measured with) and a model card in Markdown (intended use, data,
protocol, scores, limits). They are trained by the scripts in the
repository's ``scripts/`` folder on openly licensed data only.

>>> from sklship.shipped import shipped_models
>>> sorted(shipped_models())  # doctest: +SKIP
['planetscope-3m', 'sentinel2-10m']
"""

from .._lazy import lazy_exports

__all__ = ["ShippedModel", "load_shipped_model", "pick_shipped_model", "shipped_models"]

__getattr__, __dir__ = lazy_exports(__name__, {
    "ShippedModel": ".registry",
    "load_shipped_model": ".registry",
    "pick_shipped_model": ".registry",
    "shipped_models": ".registry",
})
