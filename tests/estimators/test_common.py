"""What every estimator shares: parameter names, defaults and their documentation.

A parameter that two estimators share means the same in both, so it has the
same default and the same numpydoc entry. The exceptions are parameters of
the network body (a dense network's ``dropout`` is not a CNN's) and each
family's optimizer defaults: those are compared within a family only.
"""

import ast
import inspect
import re
from collections import defaultdict

import pytest

import sklship

# Estimator -> family; estimators of one family build the same body.
FAMILIES = {
    "DenseShipClassifier": "dense",
    "DenseShipRegressor": "dense",
    "CNNShipClassifier": "cnn",
    "MultiOutputShipClassifier": "cnn",
    "PretrainedShipClassifier": "pretrained",
    "WideDeepClassifier": "wide_deep",
    "WideDeepRegressor": "wide_deep",
}

# Parameters whose meaning depends on the family: the layers they shape, the
# optimizer the family's reference model used (the old DNNClassifier's
# Adagrad at 0.05, the book's Adam), what image_shape reshapes.
FAMILY_PARAMETERS = {
    "activation", "augmentation", "batch_norm", "dense_units", "dropout", "filters",
    "first_stride", "global_pool", "image_shape", "kernel_size", "learning_rate",
    "optimizer", "pooling", "test_time_augmentation",
}

# Training parameters whose meaning differs in a family that trains in two
# phases (pretrained: the head on features, then fine-tuning), so each entry
# says what happens in which phase: compared within the family only.
PHASED_PARAMETERS = {"batch_size", "callbacks", "early_stopping", "epochs",
                     "validation_split"}


def _parameter_docs(cls):
    """``{name: (type line, description)}`` of the numpydoc Parameters section."""
    doc = inspect.getdoc(cls)
    section = re.search(r"^Parameters\n-+\n(.*?)(?=^\w[^\n]*\n-+\n|\Z)", doc,
                        re.DOTALL | re.MULTILINE)
    assert section, f"{cls.__name__} has no Parameters section"
    entries = {}
    for line in section.group(1).splitlines():
        header = re.match(r"^(\w+) : (.+)$", line)
        if header:
            name = header.group(1)
            entries[name] = [" ".join(header.group(2).split()), []]
        elif line.strip():
            entries[name][1].append(line.strip())
    return {name: (kind, " ".join(text)) for name, (kind, text) in entries.items()}


def _signature(cls):
    return {name: p.default for name, p in inspect.signature(cls.__init__).parameters.items()
            if name != "self"}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_every_parameter_documented_in_order_with_its_default(name):
    cls = getattr(sklship, name)
    signature, docs = _signature(cls), _parameter_docs(cls)
    assert list(docs) == list(signature)
    for parameter, default in signature.items():
        documented = re.search(r"default=(.+)$", docs[parameter][0])
        assert documented, f"{name}.{parameter} documents no default"
        assert ast.literal_eval(documented.group(1)) == default, (name, parameter)


def test_shared_parameters_have_one_default_and_one_entry():
    seen = defaultdict(dict)  # parameter -> estimator -> (default, type, description)
    for name in FAMILIES:
        cls = getattr(sklship, name)
        docs = _parameter_docs(cls)
        for parameter, default in _signature(cls).items():
            seen[parameter][name] = (default,) + docs[parameter]
    compared = 0
    for parameter, by_estimator in seen.items():
        groups = defaultdict(dict)
        for name, entry in by_estimator.items():
            by_family = parameter in FAMILY_PARAMETERS or (
                parameter in PHASED_PARAMETERS and FAMILIES[name] == "pretrained")
            key = FAMILIES[name] if by_family else "all"
            groups[key][name] = entry
        for group in groups.values():
            if len(group) < 2:
                continue
            compared += 1
            assert len({(d, t) for d, t, _ in group.values()}) == 1, (parameter, group)
            described = {text for _, _, text in group.values()}
            assert len(described) == 1, (parameter, group)
    assert compared >= 20  # the parser found the shared parameters


def test_multi_output_takes_every_cnn_parameter():
    cnn = _signature(sklship.CNNShipClassifier)
    multi = _signature(sklship.MultiOutputShipClassifier)
    assert set(multi) - set(cnn) == {"location_weight"}
    assert {p: multi[p] for p in cnn} == cnn


class _RecordAttributes:
    """A Keras callback noting the estimator's attribute names while it trains."""

    def __init__(self):
        self.estimator, self.seen = None, set()

    def __call__(self):
        import keras

        record = self

        class Callback(keras.callbacks.Callback):
            def on_train_batch_end(self, batch, logs=None):
                record.seen |= set(vars(record.estimator))

        return Callback()


@pytest.mark.parametrize("name", [pytest.param("PretrainedShipClassifier", marks=pytest.mark.slow),
                                  "MultiOutputShipClassifier"])
def test_no_attribute_exists_only_during_fit(name):
    """Fit data travels as arguments: nothing is set on the estimator for a fit only."""
    import numpy as np

    data = sklship.make_ships(40, image_size=32, random_state=0)
    record = _RecordAttributes()
    params = {"epochs": 1, "validation_split": 0.25, "random_state": 0,
              "callbacks": [record()]}
    if name == "PretrainedShipClassifier":
        estimator = sklship.PretrainedShipClassifier(
            "mobilenetv2", weights=None, fine_tune_epochs=1, **params)
        fit_data = {}
    else:
        estimator = sklship.MultiOutputShipClassifier(**params)
        fit_data = {"location": np.column_stack([data.longitude, data.latitude])}
    record.estimator = estimator
    estimator.fit(data.images, data.target, **fit_data)
    estimator.partial_fit(data.images, data.target, **fit_data)
    assert record.seen, "the callback saw no batch"
    assert record.seen <= set(vars(estimator)), record.seen - set(vars(estimator))
