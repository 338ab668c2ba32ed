"""save_model / load_model round trips, corrupt files, and atomic writes."""

import importlib
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import joblib
import keras
import numpy as np
import pytest
from sklearn.model_selection import GridSearchCV

import sklship
from sklship import (
    CNNShipClassifier,
    DenseShipClassifier,
    DenseShipRegressor,
    make_baseline,
    make_ships,
    persistence,
)
from sklship._io import atomic_path, atomic_write
from sklship.estimators.persistence import load_model, save_model


@pytest.fixture(scope="module")
def chips():
    return make_ships(60, image_size=16, random_state=0, return_X_y=True)


def _wide_deep(X, y):
    module = importlib.import_module("sklship.estimators.wide_deep")
    rows = X.reshape(len(X), -1).astype(np.float32) / 255
    wide = np.column_stack([y % 2, (y + 1) % 2]).astype(np.float32)
    return module.WideDeepClassifier(wide_columns=[0, 1], dnn_hidden_units=(4,),
                                     epochs=1, random_state=0), np.hstack([wide, rows])


def _pretrained():
    from sklship.estimators.pretrained import PretrainedShipClassifier

    return PretrainedShipClassifier("mobilenetv2", weights=None, epochs=1,
                                    dense_units=(4,), random_state=0)


ESTIMATORS = {
    "cnn": lambda: CNNShipClassifier((4,), pooling="max", augmentation=("flip",),
                                     class_weight={0: 0.25, 1: 0.75}, epochs=1,
                                     random_state=0),
    "dense-string-labels": lambda: DenseShipClassifier((4,), dropout=0.1, epochs=1,
                                                       validation_split=0.2,
                                                       random_state=0),
    "dense-regressor-2-outputs": lambda: DenseShipRegressor((4,), epochs=1,
                                                            random_state=0),
    "baseline": make_baseline,
    "pretrained": _pretrained,
}


def _fit(name, X, y):
    if name == "dense-string-labels":
        return ESTIMATORS[name]().fit(X, np.array(["sea", "ship"])[y]), X
    if name == "dense-regressor-2-outputs":
        return ESTIMATORS[name]().fit(X, np.column_stack([y, 1 - y]).astype(float)), X
    if name == "pretrained":
        X = np.repeat(np.repeat(X[:24], 2, axis=1), 2, axis=2)  # 32 px, the minimum
        return ESTIMATORS[name]().fit(X, y[:24]), X
    if name == "wide-deep":
        estimator, rows = _wide_deep(X, y)
        return estimator.fit(rows, y), rows
    if name == "wide-deep-regressor":
        module = importlib.import_module("sklship.estimators.wide_deep")
        rows = np.column_stack([y, X.reshape(len(X), -1)[:, :3] / 255])
        estimator = module.WideDeepRegressor(wide_columns=[0], dnn_hidden_units=(4,),
                                             epochs=1, random_state=0)
        return estimator.fit(rows, rows[:, 1:].sum(1)), rows
    if name == "multi-output":
        module = importlib.import_module("sklship.estimators.multi_output")
        location = np.column_stack([np.linspace(0, 1, len(y)), y])
        estimator = module.MultiOutputShipClassifier((4,), epochs=1, random_state=0)
        return estimator.fit(X, y, location=location), X
    return ESTIMATORS[name]().fit(X, y), X


def _outputs(estimator, X):
    method = "predict_proba" if hasattr(estimator, "predict_proba") else "predict"
    return getattr(estimator, method)(X)


@pytest.mark.parametrize("name", [*ESTIMATORS, "wide-deep", "wide-deep-regressor",
                                  "multi-output"])
def test_round_trip_gives_identical_predictions(name, chips, tmp_path):
    estimator, X = _fit(name, *chips)
    expected = _outputs(estimator, X)
    loaded = load_model(save_model(estimator, tmp_path / "model.sklship"))

    assert type(loaded) is type(estimator)
    np.testing.assert_array_equal(_outputs(loaded, X), expected)
    if hasattr(estimator, "model_"):
        assert loaded.get_params() == estimator.get_params()
        for attribute in ("n_features_in_", "input_shape_", "X_dtype_", "input_scale_"):
            assert getattr(loaded, attribute) == getattr(estimator, attribute)
        assert dict(loaded.history_) == dict(estimator.history_)
    else:  # the baseline pipeline: same steps and parameters
        assert [n for n, _ in loaded.steps] == [n for n, _ in estimator.steps]
        assert loaded[-1].get_params() == estimator[-1].get_params()
    if hasattr(estimator, "classes_"):
        np.testing.assert_array_equal(loaded.classes_, estimator.classes_)
    if hasattr(estimator, "predict_location"):
        np.testing.assert_array_equal(loaded.predict_location(X),
                                      estimator.predict_location(X))


def test_loaded_network_keeps_training(chips, tmp_path):
    X, y = chips
    estimator = DenseShipClassifier((4,), epochs=1, warm_start=True,
                                    random_state=0).fit(X, y)
    loaded = load_model(save_model(estimator, tmp_path / "m.sklship"))
    loaded.partial_fit(X, y)
    assert len(loaded.history_["loss"]) == 2


def test_loaded_cnn_scans_with_the_shared_engine(chips, tmp_path):
    # A model loaded in a fresh Keras session has layer names ("conv2d") that
    # the scan's converted layers must not repeat.
    from sklship.datasets import make_scene
    from sklship.scenes.scan import scan_scene

    X, y = chips
    keras.backend.clear_session()
    cnn = CNNShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    save_model(cnn, tmp_path / "cnn.sklship")
    keras.backend.clear_session()
    loaded = load_model(tmp_path / "cnn.sklship")
    scene, _ = make_scene(48, 64, n_ships=1, chip_size=16, random_state=0)
    result = scan_scene(loaded, scene, stride=4)
    assert result.engine == "shared"
    np.testing.assert_allclose(result.probabilities,
                               scan_scene(cnn, scene, stride=4).probabilities,
                               atol=1e-6)


def test_unfitted_estimator_round_trips(tmp_path):
    estimator = CNNShipClassifier((16, 8), pooling="max", class_weight="balanced")
    loaded = load_model(save_model(estimator, tmp_path / "m.sklship"))
    assert loaded.get_params() == estimator.get_params()
    assert loaded.filters == (16, 8)


def test_file_holds_json_and_keras_model_only(chips, tmp_path):
    X, y = chips
    estimator = DenseShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    with zipfile.ZipFile(save_model(estimator, tmp_path / "m.sklship")) as archive:
        assert sorted(archive.namelist()) == ["model_0.keras", "sklship.json"]
        manifest = json.loads(archive.read("sklship.json"))
    assert manifest["format_version"] == persistence.FORMAT_VERSION
    saved = manifest["estimator"]
    assert saved["__estimator__"] == "sklship.estimators.dense:DenseShipClassifier"
    assert saved["params"]["epochs"] == 1
    assert saved["state"]["model_"] == {"__keras__": "model_0.keras"}


@pytest.mark.parametrize("param, value", [
    ("callbacks", [keras.callbacks.TerminateOnNaN()]),
    ("optimizer", keras.optimizers.Adam()),
    ("activation", lambda x: x),
])
def test_non_json_parameter_points_to_joblib(param, value, tmp_path):
    estimator = DenseShipClassifier(**{param: value})
    with pytest.raises(TypeError, match=rf"{param}.*joblib"):
        save_model(estimator, tmp_path / "m.sklship")
    assert list(tmp_path.iterdir()) == []


# ------------------------------------------------------------ bad files
@pytest.fixture(scope="module")
def saved_bytes(chips, tmp_path_factory):
    X, y = chips
    estimator = DenseShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    path = save_model(estimator, tmp_path_factory.mktemp("saved") / "m.sklship")
    return path.read_bytes()


def _rewritten(path, saved_bytes, change):
    """A copy of the saved archive with ``change(members)`` applied to its members."""
    source = path.parent / "source.sklship"
    source.write_bytes(saved_bytes)
    with zipfile.ZipFile(source) as archive:
        members = {name: archive.read(name) for name in archive.namelist()}
    change(members)
    with zipfile.ZipFile(path, "w") as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return path


def _manifest_edit(edit):
    def change(members):
        manifest = json.loads(members["sklship.json"])
        edit(manifest)
        members["sklship.json"] = json.dumps(manifest)
    return change


@pytest.mark.parametrize("case, message", [
    ("truncated", "truncated or corrupt"),
    ("random bytes", "not a sklship model file"),
    ("foreign zip", "no sklship.json"),
    ("bad json", "not valid JSON"),
    ("other format", "does not declare format"),
    ("newer version", "format version 99"),
    ("class outside sklship", "only loads"),
    ("function outside sklship", "only loads"),
    ("missing keras member", "incomplete"),
    ("corrupt keras member", "Keras cannot load"),
])
def test_bad_file_gives_clear_value_error(case, message, saved_bytes, tmp_path):
    path = tmp_path / "bad.sklship"
    if case == "truncated":
        path.write_bytes(saved_bytes[:len(saved_bytes) // 2])
    elif case == "random bytes":
        path.write_bytes(os.urandom(1000))
    elif case == "foreign zip":
        with zipfile.ZipFile(path, "w") as archive:
            archive.writestr("readme.txt", "hello")
    else:
        change = {
            "bad json": lambda m: m.update({"sklship.json": b"{not json"}),
            "other format": _manifest_edit(lambda d: d.update(format="other")),
            "newer version": _manifest_edit(lambda d: d.update(format_version=99)),
            "class outside sklship": _manifest_edit(
                lambda d: d["estimator"].update(__estimator__="os:system")),
            "function outside sklship": _manifest_edit(
                lambda d: d["estimator"]["params"].update(
                    activation={"__function__": "os:system"})),
            "missing keras member": lambda m: m.pop("model_0.keras"),
            "corrupt keras member": lambda m: m.update({"model_0.keras": b"PK junk"}),
        }[case]
        _rewritten(path, saved_bytes, change)
    with pytest.raises(ValueError, match=message) as error:
        load_model(path)
    assert str(path) in str(error.value)


def test_missing_file_gives_file_not_found(tmp_path):
    with pytest.raises(FileNotFoundError, match="does not exist"):
        load_model(tmp_path / "nothing.sklship")
    with pytest.raises(ValueError, match="is a folder"):
        load_model(tmp_path)


def test_a_changed_byte_anywhere_gives_a_clear_value_error(saved_bytes, tmp_path):
    # A byte changed in a compressed member fails zlib or the CRC check: both
    # are reported as a corrupt file, never as a zlib.error.
    path = tmp_path / "flipped.sklship"
    for offset in range(44, 120, 4):
        changed = bytearray(saved_bytes)
        changed[offset] ^= 1
        path.write_bytes(bytes(changed))
        with pytest.raises(ValueError) as error:
            load_model(path)
        assert str(path) in str(error.value), offset


def test_save_refuses_pickle_names_and_missing_folders(chips, tmp_path):
    X, y = chips
    model = DenseShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    for name in ("m.joblib", "m.pkl"):
        with pytest.raises(ValueError, match="use joblib.dump for a pickle"):
            save_model(model, tmp_path / name)
    with pytest.raises(FileNotFoundError, match=r"folder .*missing does not exist"):
        save_model(model, tmp_path / "missing" / "m.sklship")
    search = GridSearchCV(DenseShipClassifier((4,), epochs=1, random_state=0),
                          {"epochs": [1]}, cv=2).fit(X, y)
    with pytest.raises(TypeError, match="not a GridSearchCV: save its best_estimator_"):
        save_model(search, tmp_path / "search.sklship")
    assert list(tmp_path.iterdir()) == []


# -------------------------------------------------------- atomic writes
def _leftovers(folder, keep):
    return sorted(p.name for p in folder.iterdir() if p.name not in keep)


def test_interrupted_save_leaves_previous_file_intact(chips, tmp_path, monkeypatch):
    X, y = chips
    path = tmp_path / "m.sklship"
    first = DenseShipClassifier((4,), epochs=1, random_state=0).fit(X, y)
    save_model(first, path)
    before = path.read_bytes()

    def fail(self, *args, **kwargs):  # the manifest is written, then the disk fills
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(zipfile.ZipFile, "write", fail)
    other = DenseShipClassifier((8,), epochs=1, random_state=1).fit(X, y)
    with pytest.raises(OSError, match="No space left"):
        save_model(other, path)

    assert path.read_bytes() == before
    assert _leftovers(tmp_path, {"m.sklship"}) == []
    monkeypatch.undo()
    np.testing.assert_array_equal(load_model(path).predict_proba(X),
                                  first.predict_proba(X))


def test_atomic_write_fails_midway_without_trace(tmp_path):
    path = tmp_path / "results.csv"
    path.write_text("old\n")
    with pytest.raises(RuntimeError, match="crash"):
        with atomic_write(path) as file:
            file.write("new, half written")
            file.flush()
            raise RuntimeError("crash")
    assert path.read_text() == "old\n"
    assert _leftovers(tmp_path, {"results.csv"}) == []


def test_failed_rename_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "figure.png"
    path.write_bytes(b"old")

    def no_rename(src, dst):
        raise PermissionError("rename refused")

    monkeypatch.setattr(persistence.os, "replace", no_rename)
    with pytest.raises(PermissionError):
        with atomic_path(path) as tmp:
            tmp.write_bytes(b"new")
    assert path.read_bytes() == b"old"
    assert _leftovers(tmp_path, {"figure.png"}) == []


def test_atomic_path_keeps_suffix_and_gives_normal_permissions(tmp_path):
    path = tmp_path / "new.png"
    with atomic_path(path) as tmp:
        assert tmp.parent == tmp_path and tmp.suffix == ".png"
        tmp.write_bytes(b"data")
    assert path.read_bytes() == b"data"
    umask = os.umask(0)
    os.umask(umask)
    assert stat.S_IMODE(path.stat().st_mode) == 0o666 & ~umask


def test_figures_are_written_atomically(tmp_path, monkeypatch):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    from sklship._display import save_figure

    path = tmp_path / "plot.png"
    path.write_bytes(b"previous")
    figure = plt.figure()
    monkeypatch.setattr(figure, "savefig", lambda *a, **k: (_ for _ in ()).throw(
        OSError("interrupted")))
    with pytest.raises(OSError, match="interrupted"):
        save_figure(figure, path)
    plt.close(figure)
    assert path.read_bytes() == b"previous"
    assert _leftovers(tmp_path, {"plot.png"}) == []



@pytest.mark.slow
@pytest.mark.parametrize("suffix", [".joblib", ".sklship"])
def test_files_of_the_flat_layout_load_in_a_fresh_process(chips, tmp_path, monkeypatch,
                                                          suffix):
    """Files saved before the move to subpackages name ``sklship.cnn``; they still load."""
    from sklship import CNNShipClassifier

    X, y = chips
    cnn = CNNShipClassifier(epochs=1, random_state=0).fit(X, y)
    path = tmp_path / f"old{suffix}"
    # sklship 0.1 defined the class in sklship/cnn.py: save it under that path.
    monkeypatch.setattr(CNNShipClassifier, "__module__", "sklship.cnn")
    if suffix == ".joblib":
        joblib.dump(cnn, path)
        assert b"sklship.cnn" in path.read_bytes()
    else:
        save_model(cnn, path)
    monkeypatch.undo()
    np.save(tmp_path / "X.npy", X)
    code = (
        "import sys, joblib, numpy as np\n"
        f"sys.path.insert(0, {str(Path(sklship.__file__).parent.parent)!r})\n"
        "from sklship import load_model\n"
        f"path = {str(path)!r}\n"
        "model = joblib.load(path) if path.endswith('.joblib') else load_model(path)\n"
        "print(type(model).__module__)\n"
        f"np.save({str(tmp_path / 'proba.npy')!r}, model.predict_proba("
        f"np.load({str(tmp_path / 'X.npy')!r})))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            timeout=300)
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.split()[-1] == "sklship.estimators.cnn"
    np.testing.assert_array_equal(np.load(tmp_path / "proba.npy"), cnn.predict_proba(X))
