"""Chip estimators: scikit-learn classifiers and regressors over Keras networks.

- the contract over scikeras (:mod:`~sklship.estimators.base`), the training
  runtime (:mod:`~sklship.estimators.training`) and input checks
  (:mod:`~sklship.estimators.inputs`);
- network builders (:mod:`~sklship.estimators.networks`) and sklship's Keras
  layers (:mod:`~sklship.estimators.layers`);
- the families: :mod:`~sklship.estimators.dense`, :mod:`~sklship.estimators.cnn`,
  :mod:`~sklship.estimators.pretrained` (ImageNet backbones, with weights from
  :mod:`~sklship.estimators.backbones` and
  :mod:`~sklship.estimators.tflite_weights`), :mod:`~sklship.estimators.wide_deep`,
  :mod:`~sklship.estimators.multi_output`, a logistic
  :mod:`~sklship.estimators.baseline` and the chip
  :mod:`~sklship.estimators.metadata` encoder;
- a detector and a verifier in a :mod:`~sklship.estimators.cascade`;
- the zoo of named models (:mod:`~sklship.estimators.zoo`: the book's, the
  recommended one, grids) and saving them (:mod:`~sklship.estimators.persistence`).
"""

from .._lazy import lazy_exports

__all__ = [
    "CNNShipClassifier",
    "ChipMetadataEncoder",
    "DenseShipClassifier",
    "DenseShipRegressor",
    "MultiOutputShipClassifier",
    "PretrainedShipClassifier",
    "WideDeepClassifier",
    "VerifiedShipClassifier",
    "WideDeepRegressor",
    "load_model",
    "make_baseline",
    "recommended_model",
    "save_model",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "CNNShipClassifier": ".cnn",
    "ChipMetadataEncoder": ".metadata",
    "DenseShipClassifier": ".dense",
    "DenseShipRegressor": ".dense",
    "MultiOutputShipClassifier": ".multi_output",
    "PretrainedShipClassifier": ".pretrained",
    "WideDeepClassifier": ".wide_deep",
    "VerifiedShipClassifier": ".cascade",
    "WideDeepRegressor": ".wide_deep",
    "load_model": ".persistence",
    "make_baseline": ".baseline",
    "recommended_model": ".zoo",
    "save_model": ".persistence",
})
