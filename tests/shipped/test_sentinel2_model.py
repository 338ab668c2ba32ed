"""The shipped Sentinel-2 models (with and without nir): their files, their sidecars,
and ships found at 10 m."""

import json
from pathlib import Path

import numpy as np
import pytest

import sklship
from sklship import load_model
from sklship.estimators.cascade import VerifiedShipClassifier
from sklship.estimators.unwrap import fitted_network
from sklship.scenes.settings import ScanSettings

SHIPPED = Path(sklship.__file__).parent / "shipped"
SCAN_KEYS = set(ScanSettings.names())
#: Each model's file stem, and its bands.
MODELS = {"sentinel2_10m": ["red", "green", "blue", "nir"],
          "sentinel2_10m_rgb": ["red", "green", "blue"]}


@pytest.fixture(scope="module", params=list(MODELS))
def stem(request):
    return request.param


@pytest.fixture(scope="module")
def sidecar(stem):
    return json.loads((SHIPPED / f"{stem}.json").read_text())


@pytest.fixture(scope="module")
def model(stem):
    return load_model(SHIPPED / f"{stem}.sklship")


def test_files_and_sidecar(stem, sidecar, model):
    assert (SHIPPED / f"{stem}.sklship").stat().st_size < 5e6
    card = (SHIPPED / f"{stem}.md").read_text()
    assert "contains modified Copernicus Sentinel data 2023" in card and "MIT" in card
    if stem.endswith("_rgb"):  # its detector also learnt from ShipsNet's chips
        assert "Planet Labs / ShipsNet" in card and "CC BY-SA 4.0" in card
    assert sidecar["name"] == stem.replace("_", "-")
    assert sidecar["sensor"] == "Sentinel-2 L2A"
    assert sidecar["bands"] == MODELS[stem]
    assert sidecar["scan"]["asset"] == ",".join(MODELS[stem])
    assert sidecar["resolution"] == 10.0 and sidecar["input"] == "reflectance"
    assert set(sidecar["scan"]) <= SCAN_KEYS
    assert 0 < sidecar["scan"]["threshold"] < 1
    window, network = sidecar["window"], fitted_network(model)
    assert network.input_shape_ == (window, window, len(MODELS[stem]))
    assert network.chip_resolution == 10.0
    # A cascade: the CNN proposes, the MobileNetV2 verifier's pipeline keeps only the
    # weights' file name, not the training machine's path.
    assert isinstance(model, VerifiedShipClassifier)
    assert model.verifier_.get_params()["imagenetfeatures__weights"] == \
        "mobilenet_v2_1.0_224_quant.tflite"


SENTINEL2 = Path(__file__).resolve().parents[3] / "shared" / "data" / "sentinel2"


@pytest.mark.slow
def test_tells_marked_vessels_from_background(stem, model, sidecar):
    if not (SENTINEL2 / "truth.json").exists():
        pytest.skip(f"shared Sentinel-2 ports not found at {SENTINEL2}")
    import rasterio

    from sklship.datasets import load_marked_scenes

    def reflectance(path):
        with rasterio.open(path) as dataset:
            bands = dataset.read(list(range(1, len(MODELS[stem]) + 1)))
            return np.moveaxis(bands, 0, -1).astype(np.float32) / 65535

    truth = json.loads((SENTINEL2 / "truth.json").read_text())
    key = "valencia_2023-08-23.tif"
    chips = load_marked_scenes({key: truth[key]}, root=SENTINEL2, window=24,
                               read=reflectance, resolution=10.0, positives_per_ship=1,
                               shift=0, negatives_per_scene=200, random_state=0)
    p = model.predict_proba(chips.images)[:, 1]
    ships = chips.target == 1
    # A port it was trained on: the marked vessels score high, the rest low.
    assert np.median(p[ships]) > 0.5 and np.median(p[~ships]) < 0.1
    assert (p[~ships] >= sidecar["scan"]["threshold"]).mean() < 0.05
