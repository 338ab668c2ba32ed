"""
Transfer learning offline from a TensorFlow Lite MobileNetV2
============================================================

:class:`sklship.PretrainedShipClassifier` puts a frozen ImageNet backbone
under a small head (by default a logistic regression fitted to convergence on
the standardised features), then optionally fine-tunes it. Keras downloads ImageNet
weights on first use; without internet, ``weights=`` takes a local file: the
``.h5`` file Keras would download, or for ``"mobilenetv2"`` Google's quantized
``mobilenet_v2_1.0_224_quant.tflite`` (Apache-2.0), whose weights sklship
dequantizes into Keras' MobileNetV2.

The script needs that file (``$SKLSHIP_WEIGHTS_DIR`` or ``../shared/weights``)
and the ShipsNet chips; it runs for minutes, so the documentation build does
not run it. On the real chips, with five folds grouped by scene, the frozen
backbone at 224 pixels reached accuracy 0.974 with the logistic head (0.967
with the book's 10-epoch head) and the fine-tuned one at 128 pixels, in an
earlier run with the book's head and no augmentation, 0.989
(``benchmarks/bench_transfer.py``).
"""

import os
import sys
from pathlib import Path

import matplotlib.pyplot as plt
from sklearn.model_selection import StratifiedGroupKFold, cross_val_score

from sklship import PretrainedShipClassifier, load_shipsnet

weights_dirs = [os.environ.get("SKLSHIP_WEIGHTS_DIR"), "../shared/weights",
                "../../shared/weights"]
tflite = [Path(d) / "mobilenet_v2_1.0_224_quant.tflite" for d in weights_dirs if d]
tflite = [p for p in tflite if p.is_file()]
chips = [Path(p) for p in ("../shared/data/shipsnet/shipsnet",
                           "../../shared/data/shipsnet/shipsnet") if Path(p).exists()]
if not tflite or not chips:
    sys.exit("Needs mobilenet_v2_1.0_224_quant.tflite (Google's quantized ImageNet "
             "MobileNetV2, Apache-2.0; set SKLSHIP_WEIGHTS_DIR to its folder) and the "
             "ShipsNet chips (see the ShipsNet example).")

data = load_shipsnet(chips[0])
cv = StratifiedGroupKFold(n_splits=5, shuffle=True, random_state=0)
models = {
    "frozen, 224 px": PretrainedShipClassifier("mobilenetv2", weights=str(tflite[0]),
                                               input_size=224, random_state=0),
    "fine-tuned, 128 px": PretrainedShipClassifier("mobilenetv2", weights=str(tflite[0]),
                                                   input_size=128, fine_tune_epochs=3,
                                                   random_state=0),
}
scores = {name: cross_val_score(model, data.images, data.target, groups=data.scene_id,
                                cv=cv) for name, model in models.items()}

fig, ax = plt.subplots(figsize=(6, 2.5))
ax.boxplot(list(scores.values()), tick_labels=list(scores), orientation="horizontal")
ax.set_xlabel("accuracy per fold, group CV by scene")
fig.tight_layout()
plt.show()
