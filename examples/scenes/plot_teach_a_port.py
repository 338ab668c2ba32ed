"""
Teaching a model a new port
===========================

A model finds the ships it has learnt to see. The shipped PlanetScope model
(``planetscope-3m``) learnt from two Californian bays; the ships, water and
quays of another port can look different enough that it misses some. Mark
the ships of a few scenes of that port, and :func:`sklship.shipped.adapt.adapt_model`
(or ``sklship adapt truth.json --out port.sklship``) fine-tunes the shipped
model on them (its detector, and its verifier's head). It also says how well
the adapted model does on scenes it has not seen: each scene (acquisition) is
left out in turn, the model is adapted on the others and scans the one left
out.

The scenes here are synthetic (:func:`sklship.make_scene`), written as PNG
files with a ``truth.json`` beside them, as an analyst's marked scenes
would be. Two epochs keep the example quick; the default is more.
"""

# %%
# Two marked scenes of a "new port"
# ---------------------------------
import json
import tempfile
from pathlib import Path

from PIL import Image

from sklship import make_scene, scan_scene
from sklship.evaluation import score_scan
from sklship.shipped import load_shipped_model
from sklship.shipped.adapt import adapt_model

folder = Path(tempfile.mkdtemp())
truth = {}
for k in range(2):
    scene, ships = make_scene(400, 400, n_ships=4, n_distractors=2, random_state=10 + k)
    Image.fromarray(scene).save(folder / f"port_{k}.png")
    truth[f"port_{k}.png"] = {"big": ships[["col", "row"]].to_numpy().tolist()}
(folder / "truth.json").write_text(json.dumps(truth))

# %%
# Adapt the shipped model, scoring each scene left out
# ----------------------------------------------------
result = adapt_model(folder / "truth.json", epochs=2, negatives_per_scene=40)
print(result.summary())
result.scores

# %%
# A third scene, unseen by both models
# ------------------------------------
scene, ships = make_scene(400, 400, n_ships=4, n_distractors=2, random_state=20)
marks = ships[["col", "row"]].to_numpy()
for label, model in [("shipped", load_shipped_model("planetscope-3m")),
                     ("adapted", result.model)]:
    score = score_scan(scan_scene(model, scene), marks)
    print(f"{label}: found {score.hits}/{score.n_marked}, "
          f"false alarms {score.false_alarms}")
