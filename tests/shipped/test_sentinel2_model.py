"""The shipped Sentinel-2 model: its files, its sidecar, and ships found at 10 m."""

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
STEM = "sentinel2_10m"
#: Its bands: red, green and blue measured better than with nir (see its card).
BANDS = ["red", "green", "blue"]


@pytest.fixture(scope="module")
def sidecar():
    return json.loads((SHIPPED / f"{STEM}.json").read_text())


@pytest.fixture(scope="module")
def model():
    return load_model(SHIPPED / f"{STEM}.sklship")


def test_files_and_sidecar(sidecar, model):
    assert (SHIPPED / f"{STEM}.sklship").stat().st_size < 5e6
    card = (SHIPPED / f"{STEM}.md").read_text()
    assert "contains modified Copernicus Sentinel data 2023" in card and "MIT" in card
    # Its detector also learnt from ShipsNet's chips: their licence and credit.
    assert "Planet Labs / ShipsNet" in card and "CC BY-SA 4.0" in card
    assert sidecar["name"] == "sentinel2-10m"
    assert sidecar["sensor"] == "Sentinel-2 L2A"
    assert sidecar["bands"] == BANDS
    assert sidecar["scan"]["asset"] == ",".join(BANDS)
    assert sidecar["resolution"] == 10.0 and sidecar["input"] == "reflectance"
    assert set(sidecar["scan"]) <= SCAN_KEYS
    assert 0 < sidecar["scan"]["threshold"] < 1
    window, network = sidecar["window"], fitted_network(model)
    assert network.input_shape_ == (window, window, len(BANDS))
    assert network.chip_resolution == 10.0
    # A cascade: the CNN proposes, the MobileNetV2 verifier's pipeline keeps only the
    # weights' file name, not the training machine's path.
    assert isinstance(model, VerifiedShipClassifier)
    assert model.verifier_.get_params()["imagenetfeatures__weights"] == \
        "mobilenet_v2_1.0_224_quant.tflite"


SENTINEL2 = Path(__file__).resolve().parents[3] / "shared" / "data" / "sentinel2"


@pytest.mark.slow
def test_tells_marked_vessels_from_background(model, sidecar):
    if not (SENTINEL2 / "truth.json").exists():
        pytest.skip(f"shared Sentinel-2 ports not found at {SENTINEL2}")
    import rasterio

    from sklship.datasets import load_marked_scenes

    def reflectance(path):
        with rasterio.open(path) as dataset:
            bands = dataset.read([1, 2, 3])
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
