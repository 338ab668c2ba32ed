"""ScanSettings is the one declaration of a scan setting: scan_scene, CLI, run.json."""

import inspect
import json
from dataclasses import fields

import numpy as np
import pytest

from sklship.cli import _parser, main
from sklship.scenes.export import provenance
from sklship.scenes.scan import scan_scene
from sklship.scenes.settings import ScanSettings
from sklship.shipped import load_shipped_model, shipped_models


def scan_subparser():
    parser = _parser()
    commands = next(action for action in parser._actions if action.dest == "==SUPPRESS==")
    return commands.choices["scan"]


def test_every_scan_scene_keyword_is_a_setting_and_back():
    signature = inspect.signature(scan_scene)
    keywords = [name for name, p in signature.parameters.items()
                if p.kind is p.KEYWORD_ONLY]
    assert keywords == list(ScanSettings.names())
    # Nothing else: the function takes its settings as **keywords only.
    raw = inspect.signature(scan_scene.__wrapped__).parameters
    assert list(raw) == ["estimator", "scene", "settings", "keywords"]
    assert {name: signature.parameters[name].default for name in keywords} == {
        item.name: item.default for item in fields(ScanSettings)}
    assert signature.parameters["tile_size"].default == 1024


def test_every_setting_has_a_cli_flag_with_its_help():
    scan = scan_subparser()
    by_dest = {action.dest: action for action in scan._actions}
    for item in fields(ScanSettings):
        assert item.name in by_dest, item.name
        action = by_dest[item.name]
        if item.metadata["parse"] is None:  # progress: every command's --no-progress
            assert action.option_strings == ["--no-progress"]
            continue
        assert action.option_strings == ["--" + item.name.replace("_", "-")]
        assert action.help.startswith(item.metadata["help"])
        assert action.default is None  # the setting's own default applies


def test_cli_flags_give_settings_and_their_checks(bright_centre, tmp_path, capsys):
    from sklship.cli.scenes import _settings

    args = _parser().parse_args(["scan", "--tile-size", "256", "--engine", "batched",
                                 "--min-distance", "30", "--bands", "3,2,1",
                                 "--asset", "analytic", "--min-neighbors", "2"])
    settings = _settings(args)
    assert (settings.tile_size, settings.engine, settings.min_distance, settings.bands,
            settings.asset, settings.min_neighbors) == (256, "batched", 30.0, (3, 2, 1),
                                                        "analytic", 2)
    assert settings.stride is None and settings.batch_size == 1024
    for argv, message in [(["--min-neighbors", "9"], "--min-neighbors: must be between 0 "
                           "and 8; got 9"),
                          (["--tile-size", "0"], "--tile-size: must be at least 1"),
                          (["--engine", "fast"], "'engine' parameter of ScanSettings "
                           "must be a str among")]:
        assert main(["scan", *argv]) == 2
        assert message in capsys.readouterr().err


def test_every_setting_has_a_provenance_entry(bright_centre, tmp_path):
    model = bright_centre()
    aoi = tmp_path / "ports.geojson"
    record = provenance(model, ScanSettings(stride=4, aoi=aoi, bands=[3, 2, 1],
                                            scale=(0, 3000)))
    assert set(ScanSettings.names()) <= set(record)
    assert json.loads(json.dumps(record)) == record  # JSON-ready
    assert (record["stride"], record["aoi"], record["bands"], record["scale"]) == (
        4, str(aoi), [3, 2, 1], [0, 3000])
    # Model-dependent defaults are resolved for the model: 16-pixel chips.
    assert (record["window"], record["threshold"], record["min_distance"],
            record["tile_size"], record["model_resolution"]) == (16, 0.5, 12.0, 1024, 3.0)
    # A shipped model decides at its own threshold, and is named by the model inside.
    shipped = provenance(load_shipped_model("sentinel2-10m"), ScanSettings())
    assert (shipped["model"], shipped["threshold"], shipped["saddle"]) == (
        "VerifiedShipClassifier", shipped_models()["sentinel2-10m"].scan["threshold"], 0.95)


def test_settings_object_and_keywords_scan_alike(bright_centre, ship_scene):
    model = bright_centre()
    scene = ship_scene[0]
    settings = ScanSettings(stride=4, tile_size=64)
    by_object = scan_scene(model, scene, settings)
    by_keywords = scan_scene(model, scene, stride=4, tile_size=64)
    overridden = scan_scene(model, scene, settings, stride=8)
    np.testing.assert_array_equal(by_object.probabilities, by_keywords.probabilities)
    assert by_object.count == 3 and overridden.stride == 8
    with pytest.raises(TypeError, match=r"unexpected keyword arguments \['strid'\]; "
                       "the scan settings are window, stride"):
        scan_scene(model, scene, strid=4)
    with pytest.raises(TypeError, match="settings must be a ScanSettings"):
        ScanSettings.of({"stride": 4})


def test_bands_and_scale_a_model_records_fill_the_settings_not_given(bright_centre):
    model = bright_centre()
    assert ScanSettings().read_as(model) == ScanSettings()
    model.read_options_ = {"bands": ["red", "green", "blue"], "scale": "reflectance"}
    record = provenance(model, ScanSettings(stride=4))
    assert (record["bands"], record["scale"]) == (["red", "green", "blue"], "reflectance")
    given = ScanSettings(bands=[3, 2, 1]).read_as(model)
    assert (given.bands, given.scale) == ((3, 2, 1), "reflectance")
