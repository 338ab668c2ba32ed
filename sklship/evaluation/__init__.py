"""Evaluation: how good a model is on chips and on scenes, and why.

- :mod:`~sklship.evaluation.compare`: models side by side in cross-validation;
- :mod:`~sklship.evaluation.scoring`: a scan's detections against marked ships;
- :mod:`~sklship.evaluation.thresholds`: calibration and decision thresholds;
- :mod:`~sklship.evaluation.explain`: Grad-CAM heat maps;
- :mod:`~sklship.evaluation.mining`: hard negatives from marked scenes;
- :mod:`~sklship.evaluation.plots`: confusion matrices, calibration curves,
  learning curves and misclassified chips.
"""

from .._lazy import lazy_exports

__all__ = [
    "GradCAMDisplay",
    "MisclassifiedChipsDisplay",
    "SceneScore",
    "TrainingHistoryDisplay",
    "compare_models",
    "read_truth",
    "score_detections",
    "score_scan",
]

__getattr__, __dir__ = lazy_exports(__name__, {
    "GradCAMDisplay": ".explain",
    "MisclassifiedChipsDisplay": ".plots",
    "SceneScore": ".scoring",
    "TrainingHistoryDisplay": ".plots",
    "compare_models": ".compare",
    "read_truth": ".scoring",
    "score_detections": ".scoring",
    "score_scan": ".scoring",
})
