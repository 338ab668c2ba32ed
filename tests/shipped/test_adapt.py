"""Teaching a port: fine-tuning on marked scenes, scored with each scene left out."""

import json

import numpy as np
import pandas as pd
import pytest
from PIL import Image

from sklship import (
    CNNShipClassifier,
    load_model,
    make_baseline,
    make_scene,
    make_ships,
    save_model,
    scan_scene,
)
from sklship.cli import main
from sklship.estimators.cascade import VerifiedShipClassifier
from sklship.estimators.unwrap import fitted_network, probability_estimator
from sklship.scenes.defaults import model_read_options
from sklship.shipped.adapt import THRESHOLDS, adapt_model
from sklship.shipped.registry import shipped_models

CHIP = 32


@pytest.fixture(scope="module")
def port(tmp_path_factory):
    """Three marked synthetic scenes, a small base model file, and a fourth scene."""
    folder = tmp_path_factory.mktemp("port")
    truth = {}
    for k in range(3):
        scene, ships = make_scene(160, 192, n_ships=3, chip_size=CHIP, random_state=k)
        Image.fromarray(scene).save(folder / f"port_{k}.png")
        truth[f"port_{k}.png"] = {"big": ships[["col", "row"]].to_numpy().tolist()}
    (folder / "truth.json").write_text(json.dumps(truth))
    chips = make_ships(300, image_size=CHIP, random_state=0)
    base = CNNShipClassifier(filters=(8, 16), pooling="max", epochs=3, random_state=0)
    save_model(base.fit(chips.images, chips.target), folder / "base.sklship")
    return folder


@pytest.mark.slow
def test_adapt_scores_each_scene_left_out_and_saves_a_scanning_model(port, tmp_path):
    result = adapt_model(port / "truth.json", model=port / "base.sklship", epochs=2,
                         negatives_per_scene=20)
    scores = result.scores
    assert list(scores.columns) == ["group", "scene", "marked", "found", "false_alarms",
                                    "duplicates", "threshold"]
    assert sorted(scores["scene"]) == ["port_0.png", "port_1.png", "port_2.png"]
    assert (scores["marked"] == 3).all()
    assert (scores["found"] <= scores["marked"]).all()
    assert scores["threshold"].nunique() == 1
    assert scores["threshold"].iloc[0] in THRESHOLDS
    assert result.model.threshold == scores["threshold"].iloc[0]
    assert result.chips == 3 * (3 * 8 + 20)
    assert "per image" in result.summary()
    scores_path = result.save(tmp_path / "port.sklship")
    assert scores_path == tmp_path / "port.scores.csv" and scores_path.is_file()
    saved = load_model(tmp_path / "port.sklship")
    scan = scan_scene(saved, port / "port_0.png")
    assert scan.threshold == result.model.threshold
    np.testing.assert_allclose(saved.predict_proba(np.zeros((1, CHIP, CHIP, 3), np.uint8)),
                               result.model.predict_proba(np.zeros((1, CHIP, CHIP, 3),
                                                                   np.uint8)))


@pytest.fixture(scope="module")
def cascade(port):
    """A small fitted cascade (a CNN and a logistic verifier), saved in ``port``."""
    chips = make_ships(300, image_size=CHIP, random_state=0)
    detector = CNNShipClassifier(filters=(8, 16), pooling="max", epochs=3, random_state=0)
    base = VerifiedShipClassifier(detector, make_baseline(C=0.1)).fit(chips.images,
                                                                     chips.target)
    save_model(base, port / "cascade.sklship")
    return base


def test_a_cascade_is_adapted_whole(port, cascade):
    base = cascade
    result = adapt_model(port / "truth.json", model=port / "cascade.sklship", epochs=1,
                         negatives_per_scene=10, cross_validate=False)
    # Not cross-validated, it keeps its base's decision threshold.
    assert result.scores is None and result.model.threshold == 0.5
    adapted = probability_estimator(result.model)
    assert isinstance(adapted, VerifiedShipClassifier)
    assert adapted.proposal_threshold == base.proposal_threshold
    # The detector is fine-tuned, the verifier's head refitted, its first step kept.
    before, after = base.detector_.model_.get_weights(), fitted_network(adapted).model_
    assert not all(np.array_equal(a, b) for a, b in zip(before, after.get_weights(),
                                                        strict=True))
    verifier = adapted.verifier_.estimator
    assert verifier.steps[0][0] == "flatten"
    assert not np.allclose(verifier[-1].coef_, base.verifier_[-1].coef_)


def test_the_verifier_also_learns_the_windows_the_detector_proposes_off_the_marks(
        port, cascade):
    from sklship.datasets import read_truth
    from sklship.datasets.marked_scenes import clear_of_marks
    from sklship.shipped.adapt import _proposed

    marks = read_truth(port / "truth.json")
    cutting = dict(root=port, window=CHIP, resolution=None, scene_resolution=None,
                   reflectance=None)
    proposed = _proposed(cascade.detector_, cascade, marks, {}, cutting)
    # The windows its verifier would judge (detections from the proposal
    # threshold), each clear of every mark as a background window is.
    reach = CHIP / 2 + CHIP // 4
    expected = 0
    for name, scene_marks in marks.items():
        scan = scan_scene(cascade.detector_, port / name,
                          threshold=cascade.proposal_threshold)
        clear = clear_of_marks(scan.scene_shape[:2], scene_marks, reach)
        found = scan.detections
        expected += clear[found["row"].astype(int), found["col"].astype(int)].sum()
        mine = proposed.scene == name
        assert clear[proposed.row[mine].astype(int), proposed.col[mine].astype(int)].all()
    assert 0 < len(proposed.images) == expected
    assert proposed.images.shape[1:] == (CHIP, CHIP, 3)
    assert (proposed.target == 0).all() and set(proposed.kind) == {"negative"}
    # Nothing to propose from a model without a verifier to teach.
    assert _proposed(cascade.detector_, None, marks, {}, cutting) is None


def test_every_member_of_an_averaging_detector_is_fine_tuned(port, tmp_path):
    from sklearn.ensemble import VotingClassifier

    from sklship.estimators.unwrap import soft_vote

    chips = make_ships(200, image_size=CHIP, random_state=0)
    vote = VotingClassifier([(f"seed{k}", CNNShipClassifier(filters=(4, 8), pooling="max",
                                                            epochs=1, random_state=k))
                             for k in range(2)], voting="soft", weights=[1, 2])
    base = VerifiedShipClassifier(vote, make_baseline(C=0.1)).fit(chips.images, chips.target)
    save_model(base, tmp_path / "ensemble.sklship")
    adapted = probability_estimator(adapt_model(
        port / "truth.json", model=tmp_path / "ensemble.sklship", epochs=1,
        negatives_per_scene=10, cross_validate=False).model)
    members = soft_vote(adapted.detector_.estimator)
    assert [weight for _, weight in members] == pytest.approx([1 / 3, 2 / 3])
    # Each member trained further (seeded 0 and 1), not only the first.
    assert [member.random_state for member, _ in members] == [0, 1]
    for (member, _), (old, _) in zip(members, soft_vote(base.detector_), strict=True):
        assert not all(np.array_equal(a, b) for a, b in zip(
            old.model_.get_weights(), member.model_.get_weights(), strict=True))
    saved = load_model(save_model(adapted, tmp_path / "adapted.sklship"))
    assert scan_scene(saved, port / "port_0.png").engine == "shared"


def test_one_acquisition_cannot_be_left_out(tmp_path, port):
    one = {"port_0.png": json.loads((port / "truth.json").read_text())["port_0.png"]}
    (tmp_path / "port_0.png").write_bytes((port / "port_0.png").read_bytes())
    (tmp_path / "truth.json").write_text(json.dumps(one))
    with pytest.raises(ValueError, match="leaving one out needs two or more"):
        adapt_model(tmp_path / "truth.json", model=port / "base.sklship")


def test_cli_names_a_bad_mark(tmp_path, port, capsys):
    (tmp_path / "port_0.png").write_bytes((port / "port_0.png").read_bytes())
    (tmp_path / "truth.json").write_text(json.dumps({"port_0.png": {"big": [[900, 10]]}}))
    status = main(["adapt", str(tmp_path / "truth.json"), "--out",
                   str(tmp_path / "out.sklship"), "--model", str(port / "base.sklship"),
                   "--no-cv"])
    assert status == 2
    assert "scene 'port_0.png': big mark [900.0, 10.0] lies outside" in \
        capsys.readouterr().err
    assert not (tmp_path / "out.sklship").exists()


def test_cli_refuses_an_out_that_would_replace_the_users_files(tmp_path, port, capsys):
    marks = (port / "truth.json").read_bytes()
    (tmp_path / "notes.txt").write_text("mine")
    for out, status, message in [
            (port / "truth.json", 2, "exists and is not a model file"),
            (port / "port_0.png", 2, "exists and is not a model file"),
            (tmp_path / "notes.txt", 2, "exists and is not a model file"),
            (tmp_path, 2, "is a folder"),
            (tmp_path / "missing" / "port.sklship", 1, "does not exist")]:
        assert main(["adapt", str(port / "truth.json"), "--out", str(out),
                     "--model", str(port / "base.sklship")]) == status
        err = capsys.readouterr().err
        assert message in err and len(err.strip().splitlines()) == 1, err
    assert (port / "truth.json").read_bytes() == marks
    assert (tmp_path / "notes.txt").read_text() == "mine"


def test_cli_refuses_an_unknown_base_and_a_pickle_out(tmp_path, port, capsys):
    status = main(["adapt", str(port / "truth.json"), "--out", str(tmp_path / "o.sklship"),
                   "--model", str(tmp_path / "missing.sklship")])
    assert status == 2
    assert "missing.sklship: no such model file, and no shipped model has that name " \
        "(shipped: planetscope-3m, sentinel2-10m)" \
        in capsys.readouterr().err
    status = main(["adapt", str(port / "truth.json"), "--out", str(tmp_path / "o.joblib"),
                   "--model", str(port / "base.sklship")])
    assert status == 2 and "give a .sklship file" in capsys.readouterr().err
    assert not (tmp_path / "o.joblib").exists()


def test_cli_says_it_replaced_a_model_and_drops_its_stale_scores(tmp_path, port, capsys):
    out = tmp_path / "port.sklship"
    for verb in ("wrote", "replaced"):
        (tmp_path / "port.scores.csv").write_text("scores of the model before\n")
        assert main(["adapt", str(port / "truth.json"), "--out", str(out), "--no-cv",
                     "--epochs", "1", "--model", str(port / "base.sklship")]) == 0
        assert capsys.readouterr().out.startswith(f"{verb} {out} (")
        assert load_model(out).threshold == 0.5  # the base file's own
        assert not (tmp_path / "port.scores.csv").exists()


def test_scenes_read_as_told_and_the_model_keeps_that_reading(tmp_path, port, capsys,
                                                              write_geotiff):
    # 16-bit analytic GeoTIFFs (blue, green, red, nir): read with a scale, given once.
    truth = {}
    for k in range(2):
        scene, ships = make_scene(160, 192, n_ships=3, chip_size=CHIP, random_state=k)
        bgrn = (np.moveaxis(scene[..., [2, 1, 0, 1]], -1, 0) * 12).astype(np.uint16)
        write_geotiff(tmp_path / f"port_{k}.tif", bgrn,
                      tags={"TIFFTAG_DATETIME": f"2017:0{k + 7}:05 18:08:18"})
        truth[f"port_{k}.tif"] = {"big": ships[["col", "row"]].to_numpy().tolist()}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    out = tmp_path / "port.sklship"
    argv = ["adapt", str(tmp_path / "truth.json"), "--out", str(out), "--no-cv", "--epochs",
            "1", "--model", str(port / "base.sklship"), "--bands", "3,2,1"]
    assert main(argv) == 2 and "has dtype uint16" in capsys.readouterr().err
    assert main([*argv, "--scale", "0,3060"]) == 0
    saved = load_model(out)
    assert model_read_options(saved) == {"bands": [3, 2, 1], "scale": [0.0, 3060.0]}
    scan = scan_scene(saved, tmp_path / "port_0.tif", stride=4)
    assert scan.scale == (0.0, 3060.0) and scan.bands == (3, 2, 1)


def test_marks_are_checked_before_any_work(tmp_path, write_geotiff):
    from sklship.shipped.adapt import check_marks

    def marked(truth, dates):
        for name, date in dates.items():
            write_geotiff(tmp_path / name, np.zeros((3, 64, 64), np.uint8),
                          tags={"TIFFTAG_DATETIME": date})
        (tmp_path / "truth.json").write_text(json.dumps(truth))
        return tmp_path / "truth.json"

    ship = {"big": [[30, 30]]}
    # Two tiles of one acquisition (GeoTIFF tags, not file names): one group.
    same = marked({"a.tif": ship, "b.tif": ship},
                  {"a.tif": "2023:08:22 10:00:00", "b.tif": "2023:08:22 10:00:00"})
    with pytest.raises(ValueError, match="marks scenes of 1 acquisition"):
        check_marks(same)
    marks, groups = check_marks(same, cross_validate=False)
    assert set(marks) == {"a.tif", "b.tif"} and groups == dict.fromkeys(
        marks, "2023-08-22T10:00:00")
    two = {"a.tif": "2023:08:22 10:00:00", "b.tif": "2023:09:01 10:00:00"}
    assert len(set(check_marks(marked({"a.tif": ship, "b.tif": ship}, two))[1].values())) == 2
    with pytest.raises(ValueError, match="marks 'big' ships only in the scenes of "
                                         "acquisition 2023-08-22T10:00:00"):
        check_marks(marked({"a.tif": ship, "b.tif": {"small": [[5, 5]]}}, two))
    with pytest.raises(ValueError, match="marks no ship as 'big'"):
        check_marks(marked({"a.tif": {}, "b.tif": {"small": [[5, 5]]}}, two),
                    cross_validate=False)


def test_a_verifier_keeps_its_steps_through_the_imagenet_features():
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer, StandardScaler

    from sklship.estimators.features import ImageNetFeatures, true_colour
    from sklship.shipped.adapt import _frozen_steps

    # sentinel2-10m's verifier: true colour, features, then the head refitted
    sentinel2 = make_pipeline(FunctionTransformer(true_colour), ImageNetFeatures(weights=None),
                              StandardScaler(), LogisticRegression())
    assert _frozen_steps(sentinel2) == 2
    assert _frozen_steps(make_pipeline(StandardScaler(), LogisticRegression())) == 1
    assert _frozen_steps(LogisticRegression()) == 0


@pytest.mark.slow
def test_the_sentinel2_model_is_taught_from_reflectance_geotiffs(tmp_path, write_geotiff):
    import rasterio

    # Two acquisitions of a 10 m port at 5 m (resampled to the model's 10 m):
    # dark water, five bright 70 x 20 m hulls; uint16 reflectance x 10000 with
    # band scales, descriptions and the spacecraft's name, as Sentinel-2 L2A
    # files come.
    truth, rng = {}, np.random.default_rng(0)
    for k, date in enumerate(("2023:07:01 10:00:00", "2023:08:01 10:00:00")):
        values = np.full((4, 256, 256), 300.0) + rng.normal(0, 20, (4, 256, 256))
        ships = [(40 + 40 * i, 60 + 30 * k + 20 * i) for i in range(5)]
        for row, col in ships:
            values[:, row - 2:row + 2, col - 7:col + 7] = 2500
        path = write_geotiff(tmp_path / f"s2_{k}.tif", values.astype(np.uint16), res=5,
                             tags={"TIFFTAG_DATETIME": date, "SPACECRAFT_NAME": "Sentinel-2A"})
        with rasterio.open(path, "r+") as dataset:
            dataset.scales, dataset.offsets = (1e-4,) * 4, (0.0,) * 4
            for band, name in enumerate(("red", "green", "blue", "nir"), start=1):
                dataset.set_band_description(band, name)
        # Marked 80 m off the hull centres: within the 120 m (12 px at 10 m) of a hit,
        # which is 24 px of these 5 m scenes.
        truth[path.name] = {"big": [[col + 16, row] for row, col in ships]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    # No model given: the one scan picks, by the sensor the tags name (5 m
    # pixels alone would be nearer PlanetScope's 3 m).
    result = adapt_model(tmp_path / "truth.json", epochs=1, negatives_per_scene=10)
    assert result.base == "sentinel2-10m"
    # Chips read as reflectance at 10 m: 5 ships x 8 + 10 per scene, 24 x 24 x 3
    # (the red, green and blue the files' descriptions name).
    assert result.chips == 2 * (5 * 8 + 10)
    assert sorted(result.scores["scene"]) == ["s2_0.tif", "s2_1.tif"]
    # Each acquisition left out and scanned as reflectance: its five hulls found.
    assert (result.scores["found"] == 5).all() and (result.scores["marked"] == 5).all()
    assert fitted_network(result.model).input_shape_ == (24, 24, 3)
    scan = scan_scene(result.model, tmp_path / "s2_0.tif", bands=("red", "green", "blue"),
                      scale="reflectance")
    assert scan.resolution == 5.0 and scan.pixel_scale == 2.0
    # Its file remembers how its base reads scenes: scanned without bands and
    # scale, as reflectance of the bands named red, green and blue, the same
    # detections.
    result.save(tmp_path / "port.sklship")
    saved = load_model(tmp_path / "port.sklship")
    assert model_read_options(saved) == {"scale": "reflectance", "saddle": 0.95}
    again = scan_scene(saved, tmp_path / "s2_0.tif")
    assert again.scale == scan.scale and again.bands == scan.bands
    pd.testing.assert_frame_equal(again.detections, scan.detections)
    # ... and so does `sklship scan --model FILE SCENE`, with no flags.
    assert main(["scan", "--model", str(tmp_path / "port.sklship"), str(tmp_path / "s2_0.tif"),
                 "--out", str(tmp_path / "scan")]) == 0
    written = pd.read_csv(tmp_path / "scan" / "detections.csv")
    assert len(written) == len(scan.detections)
    # Adapted once, without scores, it scans at the shipped model's threshold.
    once = adapt_model(tmp_path / "truth.json", model="sentinel2-10m", epochs=1,
                       negatives_per_scene=10, cross_validate=False)
    assert once.scores is None
    assert once.model.threshold == shipped_models()["sentinel2-10m"].scan["threshold"]
    # Given ones win: four bands fail the 3-channel model.
    with pytest.raises(ValueError, match="channel"):
        scan_scene(saved, tmp_path / "s2_0.tif", bands=(1, 2, 3, 4))


def test_cli_without_a_model_starts_from_the_one_scan_picks(tmp_path, port, capsys,
                                                            write_geotiff):
    # Sentinel-2 files (their tags say so) at 5 m: the 10 m model, as scan picks it.
    truth = {}
    for k in range(2):
        write_geotiff(tmp_path / f"s2_{k}.tif", np.full((4, 64, 64), 300, np.uint16), res=5,
                      tags={"TIFFTAG_DATETIME": f"2023:0{k + 7}:01 10:00:00",
                            "SPACECRAFT_NAME": "Sentinel-2B"})
        truth[f"s2_{k}.tif"] = {"big": [[32, 32]]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    out = tmp_path / "port.sklship"
    assert main(["adapt", str(tmp_path / "truth.json"), "--out", str(out)]) == 2
    err = capsys.readouterr().err
    assert "Model: the shipped 'sentinel2-10m' (Sentinel-2 L2A, 10 m), picked for the " \
        "scenes" in err
    # Its chips are read as reflectance before any training, and these 16-bit
    # files do not say their scale.
    assert "s2_0.tif does not say the scale of its reflectance" in err, err
    assert not out.exists()
    # A PNG and a Sentinel-2 file call for different models: told before any work.
    (tmp_path / "port_0.png").write_bytes((port / "port_0.png").read_bytes())
    truth["port_0.png"] = {"big": [[10, 10]]}
    (tmp_path / "truth.json").write_text(json.dumps(truth))
    assert main(["adapt", str(tmp_path / "truth.json"), "--out", str(out)]) == 2
    assert "the scenes call for different shipped models" in capsys.readouterr().err
