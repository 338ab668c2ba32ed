"""Names of a package imported on first use, so that importing it stays cheap.

``sklship`` and its subpackages export their public names this way: the
estimators need TensorFlow, the data, scene-reading and scoring modules do
not, and ``import sklship.datasets`` should not pay for TensorFlow.
"""

import importlib

__all__ = ["lazy_exports"]


def lazy_exports(package, names):
    """Module ``__getattr__`` and ``__dir__`` for a package's lazily imported names.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    names : dict of str to str
        Public name -> module (relative to ``package``, e.g. ``".scan"``) that
        defines it.

    Returns
    -------
    getattr, dir : callable
        To assign to the package's ``__getattr__`` and ``__dir__``.
    """

    def __getattr__(name):
        if name not in names:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        return getattr(importlib.import_module(names[name], package), name)

    def __dir__():
        module = importlib.import_module(package)
        return sorted(set(vars(module)) | set(names))

    return __getattr__, __dir__
