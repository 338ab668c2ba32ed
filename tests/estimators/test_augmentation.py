"""ChipAugmentation: flips, right-angle rotations, brightness, haze, contrast, blur,
shifts and zoom, in training only."""

import numpy as np

from sklship.estimators.layers import ChipAugmentation


def test_augmentation_draws_rotations_and_flips():
    image = np.arange(2 * 2 * 1, dtype="float32").reshape(1, 2, 2, 1)
    layer = ChipAugmentation(seed=0)
    np.testing.assert_array_equal(layer(image, training=False), image)
    symmetries = {np.rot90(m, k).tobytes() for m in (image[0], image[0][::-1])
                  for k in range(4)}
    drawn = {np.asarray(layer(image, training=True))[0].tobytes() for _ in range(60)}
    assert drawn == symmetries


def test_each_chip_of_a_batch_gets_its_own_symmetry():
    # Per chip, independently: one of the 8 flips and rotations (4 flips
    # without rot90), with multichannel pixels moved whole.
    chips = np.random.default_rng(0).random((64, 5, 5, 2)).astype("float32")
    for rot90, n_symmetries in ((True, 8), (False, 4)):
        out = np.asarray(ChipAugmentation(rot90=rot90, seed=1)(chips, training=True))
        drawn = set()
        for chip, got in zip(chips, out, strict=True):
            views = [np.rot90(m, k, axes=(0, 1)) for m in (chip, chip[::-1])
                     for k in range(4)]
            if not rot90:
                views = [chip, chip[::-1], chip[:, ::-1], chip[::-1, ::-1]]
            matches = [k for k, view in enumerate(views) if np.array_equal(got, view)]
            assert len(matches) == 1
            drawn.add(matches[0])
        assert len(drawn) == n_symmetries


def test_brightness_scales_each_chip_by_one_factor_in_range():
    image = np.ones((200, 2, 2, 1), dtype="float32")
    layer = ChipAugmentation(flip=False, rot90=False, brightness=0.1, seed=0)
    out = np.asarray(layer(image, training=True))
    factors = out[:, 0, 0, 0]
    np.testing.assert_array_equal(out, np.broadcast_to(factors[:, None, None, None],
                                                       out.shape))
    assert 0.9 <= factors.min() < 0.92 and 1.08 < factors.max() <= 1.1


def test_haze_adds_each_chip_one_offset_per_band_up_to_its_depth():
    image = np.full((400, 3, 3, 4), 0.02, dtype="float32")
    layer = ChipAugmentation(flip=False, rot90=False, haze=0.1, seed=0)
    np.testing.assert_array_equal(layer(image, training=False), image)
    offsets = np.asarray(layer(image, training=True)) - image
    # The same offset over every pixel of a chip's band.
    np.testing.assert_allclose(offsets, np.broadcast_to(offsets[:, :1, :1], offsets.shape),
                               atol=1e-7)
    per_band = offsets[:, 0, 0]
    assert per_band.min() >= 0 and 0.09 < per_band.max() <= 0.1
    # Each band 0.5 to 1 of the chip's depth: tinted, not grey.
    ratio = per_band.min(axis=1) / per_band.max(axis=1)
    assert ratio.min() >= 0.5 - 1e-6 and ratio.mean() < 0.8
    assert ChipAugmentation.from_config(layer.get_config()).haze == 0.1


def test_contrast_scales_each_chips_departures_from_its_band_means():
    chips = np.random.default_rng(0).random((300, 6, 6, 3)).astype("float32")
    layer = ChipAugmentation(flip=False, rot90=False, contrast=0.3, seed=0)
    np.testing.assert_array_equal(layer(chips, training=False), chips)
    out = np.asarray(layer(chips, training=True))
    means = chips.mean(axis=(1, 2), keepdims=True)
    np.testing.assert_allclose(out.mean(axis=(1, 2), keepdims=True), means, atol=1e-5)
    # One factor per chip, the same for every band and pixel.
    drawn = ((out - means) * (chips - means)).sum(axis=(1, 2, 3)) / (
        (chips - means) ** 2).sum(axis=(1, 2, 3))
    np.testing.assert_allclose(out, means + (chips - means) * drawn[:, None, None, None],
                               atol=1e-5)
    assert 0.7 - 1e-5 <= drawn.min() < 0.72 and 1.28 < drawn.max() <= 1.3 + 1e-5
    assert ChipAugmentation.from_config(layer.get_config()).contrast == 0.3


def test_blur_softens_each_chip_by_its_own_share_and_keeps_flat_chips():
    # A one-pixel line blurred: its peak falls and its neighbours rise, by a
    # share drawn per chip from 0 (untouched) to 1 (the full Gaussian blur).
    chips = np.zeros((300, 15, 15, 2), dtype="float32")
    chips[:, :, 7] = 1
    layer = ChipAugmentation(flip=False, rot90=False, blur=1.0, seed=0)
    np.testing.assert_array_equal(layer(chips, training=False), chips)
    out = np.asarray(layer(chips, training=True))
    np.testing.assert_allclose(out.sum(axis=(1, 2)), 15, rtol=1e-4)   # mass kept
    peak = out[:, 7, 7, 0]
    # A unit Gaussian's centre tap over 5 taps (radius 2): 0.403.
    assert 0.40 < peak.min() < 0.45 and peak.max() > 0.95
    np.testing.assert_allclose(out[..., 0], out[..., 1])   # every band alike
    flat = np.full((4, 9, 9, 3), 0.3, dtype="float32")
    np.testing.assert_allclose(layer(flat, training=True), flat, atol=1e-6)
    assert ChipAugmentation.from_config(layer.get_config()).blur == 1.0


def test_shift_moves_chips_by_up_to_the_fraction_and_keeps_their_mass():
    # A bright 4x4 square in the middle of 40x40 chips; shift=0.1 moves it
    # by up to 4 pixels along each axis (reflection fills the border).
    image = np.zeros((300, 40, 40, 1), dtype="float32")
    image[:, 18:22, 18:22] = 1
    layer = ChipAugmentation(flip=False, rot90=False, shift=0.1, seed=0)
    np.testing.assert_array_equal(layer(image, training=False), image)
    out = np.asarray(layer(image, training=True))[..., 0]
    np.testing.assert_allclose(out.sum(axis=(1, 2)), 16, rtol=1e-4)
    grid = np.arange(40, dtype="float64")
    rows = (out.sum(axis=2) * grid).sum(axis=1) / 16 - 19.5
    cols = (out.sum(axis=1) * grid).sum(axis=1) / 16 - 19.5
    for offset in (rows, cols):
        assert np.abs(offset).max() <= 4 + 1e-3
        assert np.abs(offset).max() > 3.5  # the whole range is drawn
        assert abs(offset.mean()) < 0.5  # both ways
    assert np.std(rows - cols) > 1  # independently per axis


def test_scale_zooms_about_the_centre_within_range():
    image = np.zeros((300, 41, 41, 1), dtype="float32")
    image[:, 10:31, 10:31] = 1  # 21x21 square centred on the middle pixel
    layer = ChipAugmentation(flip=False, rot90=False, scale=0.1, seed=0)
    out = np.asarray(layer(image, training=True))[..., 0]
    zoom = np.sqrt(out.sum(axis=(1, 2)) / 21**2)
    assert 0.89 < zoom.min() < 0.93 and 1.07 < zoom.max() < 1.11
    grid = np.arange(41, dtype="float64")
    centre = (out.sum(axis=2) * grid).sum(axis=1) / out.sum(axis=(1, 2))
    np.testing.assert_allclose(centre, 20, atol=1e-3)


def test_shift_and_scale_survive_get_config_and_keep_uint8():
    layer = ChipAugmentation(shift=0.1, scale=0.05, seed=3)
    copy = ChipAugmentation.from_config(layer.get_config())
    assert (copy.shift, copy.scale, copy.seed) == (0.1, 0.05, 3)
    chips = np.full((2, 8, 8, 3), 200, dtype="uint8")
    assert np.asarray(layer(chips, training=True)).dtype == np.uint8
