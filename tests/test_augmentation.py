"""ChipAugmentation: flips, right-angle rotations and brightness, in training only."""

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


def test_brightness_scales_each_chip_by_one_factor_in_range():
    image = np.ones((200, 2, 2, 1), dtype="float32")
    layer = ChipAugmentation(flip=False, rot90=False, brightness=0.1, seed=0)
    out = np.asarray(layer(image, training=True))
    factors = out[:, 0, 0, 0]
    np.testing.assert_array_equal(out, np.broadcast_to(factors[:, None, None, None],
                                                       out.shape))
    assert 0.9 <= factors.min() < 0.92 and 1.08 < factors.max() <= 1.1
