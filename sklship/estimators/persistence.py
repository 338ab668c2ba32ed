"""Saving fitted estimators safely: a native format without pickle.

The native format is a zip archive with

``sklship.json``
    The format name and version, the library versions that wrote it, and
    the estimator as plain JSON: its class (``module:name``), its
    ``get_params(deep=False)`` and its fitted attributes (``classes_``,
    ``n_features_in_``, ``input_shape_``, ``X_dtype_``, ``history_``,
    scikeras' target and feature encoders, ...). NumPy arrays, dtypes,
    tuples and dicts with non-string keys are tagged so that they come back
    as they were.
``model_<k>.keras``
    Every Keras model the estimator holds (``model_``), once however often
    it is held, in Keras' own ``.keras`` format (deflated), loaded back with
    ``safe_mode=True``.

The encoding is generic: any scikit-learn compatible estimator whose state
is made of plain values, NumPy arrays, scikit-learn objects, sklship
functions and Keras models is saved, which covers sklship's networks, the
:func:`~sklship.make_baseline` pipeline, and pipelines or meta-estimators
built from them, including ``CalibratedClassifierCV``,
``TunedThresholdClassifierCV``, ``FixedThresholdClassifier`` and
``FrozenEstimator``. An estimator's state is what its pickle protocol
(``__getstate__``) gives, and is restored through ``__setstate__``, so
attributes that pickling rebuilds (``IsotonicRegression.f_``) are rebuilt
here too. Loading never unpickles: classes are only taken from
``sklearn``, ``scikeras`` and ``sklship``, and must be scikit-learn
estimators or one of the few plain scikit-learn helpers that such
meta-estimators hold (``_PLAIN_CLASSES``: the calibrated ensemble members,
scorers); functions only from ``sklship`` and ``sklearn.metrics`` (the score
function of a scorer). A parameter that JSON cannot
hold (a callback, an optimizer instance, a ``joblib.Memory``, a lambda)
makes :func:`save_model` raise a TypeError that names it: save such an
estimator with ``joblib.dump``, which keeps working for every estimator.

The archive is written through :func:`sklship._io.atomic_write`, so an
interrupted save leaves the previous file as it was.
"""

import importlib
import inspect
import json
import os
import tempfile
import warnings
import zipfile
import zlib
from collections import defaultdict
from pathlib import Path

import numpy as np

from .._io import atomic_write

__all__ = ["load_model", "save_model"]

FORMAT_NAME = "sklship-model"
FORMAT_VERSION = 1
_MANIFEST = "sklship.json"
#: Endings of pickle files (``joblib.dump``), which save_model does not write.
PICKLE_SUFFIXES = (".joblib", ".pkl", ".pickle")

# Where load_model may take classes and functions from.
_CLASS_MODULES = ("sklearn.", "scikeras.", "sklship.")
_FUNCTION_MODULES = ("sklship.", "sklearn.metrics.")
# Plain (non-estimator) scikit-learn objects held by meta-estimators, stored as
# their attributes: CalibratedClassifierCV's ensemble members and the scorers
# of TunedThresholdClassifierCV.
_PLAIN_CLASSES = frozenset({
    "sklearn.calibration:_CalibratedClassifier",
    "sklearn.metrics._scorer:_CurveScorer",
    "sklearn.metrics._scorer:_Scorer",
})

# --------------------------------------------------------------------------
# save_model / load_model
# --------------------------------------------------------------------------


def save_model(estimator, path):
    """Save a fitted (or unfitted) estimator in sklship's native, pickle-free format.

    Parameters
    ----------
    estimator : estimator
        An sklship network, the :func:`~sklship.make_baseline` pipeline, or
        any scikit-learn estimator whose parameters and fitted state are
        plain values, arrays, scikit-learn objects and Keras models.
    path : str or os.PathLike
        File to write (conventionally ``*.sklship``); written atomically, so
        a failed save leaves an existing file as it was.

    Returns
    -------
    path : pathlib.Path
        The file written.

    Raises
    ------
    TypeError
        If the estimator holds something JSON cannot store (a callback, an
        optimizer instance, a ``joblib.Memory``, a lambda); the message
        names it. Use ``joblib.dump`` for such estimators. Also for a
        search (``GridSearchCV``...): save its ``best_estimator_``.
    ValueError
        If ``path`` ends in ``.joblib``, ``.pkl`` or ``.pickle``: a pickle's
        name for a file that is not one.
    FileNotFoundError
        If the folder of ``path`` does not exist.

    See Also
    --------
    load_model : Read the file back.

    Examples
    --------
    >>> from sklship import DenseShipClassifier, make_ships
    >>> from sklship.estimators.persistence import load_model, save_model
    >>> X, y = make_ships(60, image_size=16, random_state=0, return_X_y=True)
    >>> clf = DenseShipClassifier((8,), epochs=1).fit(X, y)  # doctest: +SKIP
    >>> save_model(clf, "ships.sklship")  # doctest: +SKIP
    >>> load_model("ships.sklship").predict(X[:3])  # doctest: +SKIP
    """
    import keras
    import sklearn
    from sklearn.model_selection._search import BaseSearchCV

    from .. import __version__

    path = Path(path)
    if path.suffix.lower() in PICKLE_SUFFIXES:
        raise ValueError(f"save_model writes sklship's own format, which {path.name} "
                         "would not be read as: give a .sklship path, or use joblib.dump "
                         "for a pickle.")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"cannot write {path}: folder {path.parent} does not "
                                "exist.")
    if isinstance(estimator, BaseSearchCV):  # its splitters and results are not JSON
        raise TypeError(f"save_model stores fitted models, not a {type(estimator).__name__}: "
                        "save its best_estimator_ (refitted on all the data), or the "
                        "whole search with joblib.dump.")
    encoder = _Encoder()
    manifest = {
        "format": FORMAT_NAME,
        "format_version": FORMAT_VERSION,
        "versions": {"sklship": __version__, "scikit-learn": sklearn.__version__,
                     "keras": keras.__version__},
        "estimator": encoder.encode(estimator, type(estimator).__name__),
    }
    text = json.dumps(manifest, indent=1, allow_nan=True)
    with tempfile.TemporaryDirectory() as folder, atomic_write(path, "wb") as file:
        with zipfile.ZipFile(file, "w") as archive:
            archive.writestr(_MANIFEST, text, compress_type=zipfile.ZIP_DEFLATED)
            for name, model in encoder.models.items():
                model_path = os.path.join(folder, name)
                model.save(model_path)
                # Keras stores weights uncompressed; weights that came from
                # a quantized file (TFLite) shrink to a third.
                archive.write(model_path, name, compress_type=zipfile.ZIP_DEFLATED)
    return path


def load_model(path):
    """Load an estimator written by :func:`save_model`, without unpickling.

    Parameters
    ----------
    path : str or os.PathLike
        A file written by :func:`save_model`.

    Returns
    -------
    estimator : estimator
        The estimator, with the same parameters, fitted attributes and
        predictions as the one saved.

    Raises
    ------
    FileNotFoundError
        If ``path`` does not exist.
    ValueError
        If ``path`` is a folder, or the file is truncated, corrupt, of another format (a joblib
        pickle, a bare ``.keras`` file), of a newer format version, or names
        a class outside ``sklearn``, ``scikeras`` and ``sklship``. The
        message names the file.
    """
    path = Path(path)
    if path.is_dir():
        raise ValueError(f"model file {path} is a folder; give the file written by "
                         "save_model.")
    if not path.is_file():
        raise FileNotFoundError(f"model file {path} does not exist.")
    try:
        with zipfile.ZipFile(path) as archive, tempfile.TemporaryDirectory() as folder:
            manifest = _read_manifest(archive, path)
            return _Decoder(archive, folder, path).decode(manifest["estimator"])
    except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
        raise ValueError(
            f"{path} is not a sklship model file, or it is truncated or corrupt "
            f"({exc}). Files written by joblib.dump are read with joblib.load "
            "(only from a source you trust)."
        ) from exc


def _read_manifest(archive, path):
    if _MANIFEST not in archive.namelist():
        raise ValueError(
            f"{path} is a zip archive but not a sklship model file: it has no "
            f"{_MANIFEST} (a bare Keras .keras file is read with "
            "keras.saving.load_model)."
        )
    try:
        manifest = json.loads(archive.read(_MANIFEST).decode("utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ValueError(f"{path}: {_MANIFEST} is not valid JSON ({exc}).") from exc
    if not isinstance(manifest, dict) or manifest.get("format") != FORMAT_NAME:
        raise ValueError(f"{path} is not a sklship model file: {_MANIFEST} does not "
                         f"declare format {FORMAT_NAME!r}.")
    version = manifest.get("format_version")
    if version != FORMAT_VERSION:
        raise ValueError(
            f"{path} has format version {version!r}; this sklship reads version "
            f"{FORMAT_VERSION}. Load it with the sklship version that wrote it "
            f"({manifest.get('versions', {}).get('sklship', 'unknown')})."
        )
    _warn_on_other_versions(manifest.get("versions", {}), path)
    return manifest


def _warn_on_other_versions(versions, path):
    import keras
    import sklearn

    current = {"scikit-learn": sklearn.__version__, "keras": keras.__version__}
    differ = [f"{name} {versions[name]} (now {version})"
              for name, version in current.items()
              if versions.get(name, version) != version]
    if differ:
        warnings.warn(f"{path} was written with {', '.join(differ)}; the model may "
                      "behave differently.", UserWarning, stacklevel=3)


# --------------------------------------------------------------------------
# The JSON encoding
# --------------------------------------------------------------------------


class _Encoder:
    """Estimator state to JSON values; Keras models are collected in ``models``."""

    def __init__(self):
        self.models = {}

    def encode(self, value, where):
        from sklearn.base import BaseEstimator

        if value is None or isinstance(value, (bool, int, float, str)):
            return value
        if isinstance(value, np.generic):
            return {"__scalar__": self.encode(value.item(), where),
                    "dtype": value.dtype.str}
        if isinstance(value, np.ndarray):
            return self._array(value, where)
        if isinstance(value, np.dtype):
            return {"__dtype__": value.str}
        if isinstance(value, list):
            return [self.encode(v, f"{where}[{i}]") for i, v in enumerate(value)]
        if isinstance(value, tuple):
            return {"__tuple__": [self.encode(v, f"{where}[{i}]")
                                  for i, v in enumerate(value)]}
        if isinstance(value, dict):
            return self._dict(value, where)
        if isinstance(value, BaseEstimator):
            return self._estimator(value, where)
        if _qualified(type(value)) in _PLAIN_CLASSES:
            # A scorer's metadata-routing request only matters while fitting,
            # and a refit rebuilds the scorer.
            return {"__object__": _qualified(type(value)),
                    "state": {k: self.encode(v, f"{where}.{k}")
                              for k, v in vars(value).items()
                              if k != "_metadata_request"}}
        if _is_keras_model(value):
            # A model held twice (a FrozenEstimator's parameter and its fitted
            # copy are one object) is stored once.
            name = next((name for name, model in self.models.items() if model is value),
                        f"model_{len(self.models)}.keras")
            self.models[name] = value
            return {"__keras__": name}
        if inspect.isfunction(value) and _importable(value, _FUNCTION_MODULES):
            return {"__function__": f"{value.__module__}:{value.__qualname__}"}
        raise TypeError(
            f"save_model cannot store {where} as JSON: it holds a "
            f"{type(value).__module__}.{type(value).__qualname__} ({value!r:.80}). "
            "Save this estimator with joblib.dump (a '.joblib' file) instead, or "
            "give that parameter a plain value (e.g. an optimizer by name)."
        )

    def _array(self, array, where):
        if array.dtype.kind not in "biufUSO":
            raise TypeError(f"save_model cannot store {where}: an array of dtype "
                            f"{array.dtype}. Use joblib.dump instead.")
        values = array.ravel().tolist()
        if array.dtype.kind in "SO":
            values = [self.encode(v, f"{where}[{i}]") for i, v in enumerate(values)]
        return {"__ndarray__": values, "dtype": array.dtype.str,
                "shape": list(array.shape)}

    def _dict(self, mapping, where):
        encoded = {"__dict__": [[self.encode(k, f"{where} key"),
                                 self.encode(v, f"{where}[{k!r}]")]
                                for k, v in mapping.items()]}
        if isinstance(mapping, defaultdict):
            if mapping.default_factory is not list:
                raise TypeError(f"save_model cannot store {where}: a defaultdict "
                                "of other than lists. Use joblib.dump instead.")
            encoded["default"] = "list"
        return encoded

    def _estimator(self, estimator, where):
        cls = type(estimator)
        if not _importable(cls, _CLASS_MODULES):
            raise TypeError(
                f"save_model cannot store {where}: a {cls.__module__}."
                f"{cls.__qualname__}; the native format holds classes of "
                f"{', '.join(m.rstrip('.') for m in _CLASS_MODULES)} only. Use "
                "joblib.dump instead."
            )
        params = estimator.get_params(deep=False)
        # The pickle protocol's state: without what __setstate__ rebuilds, and
        # without the version tag (the manifest records the versions).
        state = {k: v for k, v in estimator.__getstate__().items()
                 if k not in params and k != "_sklearn_version"}
        return {
            "__estimator__": _qualified(cls),
            "params": {k: self.encode(v, f"{where} parameter {k!r}")
                       for k, v in params.items()},
            "state": {k: self.encode(v, f"{where}.{k}") for k, v in state.items()},
        }


class _Decoder:
    """JSON values back to estimator state; Keras models read from the archive."""

    def __init__(self, archive, folder, path):
        self.archive, self.folder, self.path = archive, folder, path
        self.models = {}

    def decode(self, value):
        if isinstance(value, list):
            return [self.decode(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "__scalar__" in value:
            return np.dtype(value["dtype"]).type(value["__scalar__"])
        if "__ndarray__" in value:
            return self._array(value)
        if "__dtype__" in value:
            return np.dtype(value["__dtype__"])
        if "__tuple__" in value:
            return tuple(self.decode(v) for v in value["__tuple__"])
        if "__dict__" in value:
            items = ((self.decode(k), self.decode(v)) for k, v in value["__dict__"])
            return defaultdict(list, items) if value.get("default") == "list" \
                else dict(items)
        if "__estimator__" in value:
            return self._estimator(value)
        if "__object__" in value:
            return self._object(value)
        if "__keras__" in value:
            name = value["__keras__"]
            if name not in self.models:
                self.models[name] = self._keras_model(name)
            return self.models[name]
        if "__function__" in value:
            return self._import(value["__function__"], _FUNCTION_MODULES,
                                inspect.isfunction, "function")
        raise ValueError(f"{self.path}: unknown entry in {_MANIFEST}: {value!r:.80}.")

    def _array(self, value):
        dtype = np.dtype(value["dtype"])
        if dtype.kind in "SO":
            flat = np.empty(len(value["__ndarray__"]), dtype=dtype)
            flat[:] = [self.decode(v) for v in value["__ndarray__"]]
        else:
            flat = np.asarray(value["__ndarray__"], dtype=dtype)
        return flat.reshape(value["shape"])

    def _estimator(self, value):
        from sklearn.base import BaseEstimator

        cls = self._import(value["__estimator__"], _CLASS_MODULES,
                           lambda c: isinstance(c, type) and issubclass(c, BaseEstimator),
                           "scikit-learn estimator class")
        params = {k: self.decode(v) for k, v in value["params"].items()}
        try:
            estimator = cls(**params)
        except TypeError as exc:
            raise ValueError(
                f"{self.path}: the saved parameters of {cls.__name__} do not fit "
                f"this version of it ({exc})."
            ) from exc
        state = {k: self.decode(v) for k, v in value["state"].items()}
        if cls.__module__.startswith("sklearn."):
            # _warn_on_other_versions has compared the versions already.
            import sklearn

            state["_sklearn_version"] = sklearn.__version__
        estimator.__setstate__(state)
        return estimator

    def _object(self, value):
        if value["__object__"] not in _PLAIN_CLASSES:
            raise ValueError(f"{self.path} names {value['__object__']!r}, which is not "
                             "an object sklship loads.")
        cls = self._import(value["__object__"], _CLASS_MODULES,
                           lambda c: isinstance(c, type), "class")
        plain = cls.__new__(cls)
        vars(plain).update({k: self.decode(v) for k, v in value["state"].items()})
        return plain

    def _keras_model(self, name):
        import keras

        try:
            model_path = self.archive.extract(name, self.folder)
        except KeyError as exc:
            raise ValueError(f"{self.path} is incomplete: it has no {name}.") from exc
        try:
            return keras.saving.load_model(model_path, safe_mode=True)
        except Exception as exc:
            raise ValueError(
                f"{self.path}: Keras cannot load {name} ({type(exc).__name__}: {exc})."
            ) from exc

    def _import(self, qualified, modules, check, what):
        module_name, _, name = str(qualified).partition(":")
        if not module_name.startswith(modules) or not name.isidentifier():
            raise ValueError(
                f"{self.path} names {qualified!r}; sklship only loads a {what} from "
                f"{', '.join(m.rstrip('.') for m in modules)}."
            )
        try:
            found = getattr(importlib.import_module(module_name), name)
        except (ImportError, AttributeError) as exc:
            raise ValueError(f"{self.path} names {qualified!r}, which this "
                             f"installation does not have ({exc}).") from exc
        if not check(found):
            raise ValueError(f"{self.path} names {qualified!r}, which is not a {what}.")
        return found


def _qualified(cls):
    return f"{cls.__module__}:{cls.__qualname__}"


def _importable(obj, modules):
    """Whether ``obj`` is reachable as ``module:qualname`` in one of ``modules``."""
    module = getattr(obj, "__module__", "") or ""
    qualname = getattr(obj, "__qualname__", "")
    if not module.startswith(modules) or not qualname.isidentifier():
        return False
    return getattr(importlib.import_module(module), qualname, None) is obj


def _is_keras_model(value):
    import keras

    return isinstance(value, keras.Model)
