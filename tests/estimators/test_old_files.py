"""Model files saved before the second rooms pass (commit eb02d23) still load and predict."""

import json
from pathlib import Path

import joblib
import numpy as np
import pytest

from sklship import load_model, make_ships

FOLDER = Path(__file__).resolve().parents[1] / "fixtures" / "eb02d23"
EXPECTED = json.loads((FOLDER / "expected.json").read_text())["probability"]
PROBE = make_ships(4, image_size=16, random_state=1).images


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_native_files_load_and_predict_as_they_did(name):
    model = load_model(FOLDER / f"{name}.sklship")
    np.testing.assert_allclose(model.predict_proba(PROBE)[:, 1], EXPECTED[name], atol=1e-6)


def test_joblib_file_loads_and_predicts_as_it_did():
    model = joblib.load(FOLDER / "cnn.joblib")
    np.testing.assert_allclose(model.predict_proba(PROBE)[:, 1], EXPECTED["cnn"], atol=1e-6)
