"""Evaluation: FID/KID (clean-fid), LPIPS, world metrics, protocols, HYPE studies.

Importing this package registers the metrics (``fid``, ``lpips_diversity``, ``world``,
``world_styles``) and the ``evaluate`` training callback; clean-fid and lpips
themselves are imported only when a metric runs.
"""

from gancraft.evaluation import callback, world_metrics, world_styles  # noqa: F401  (registration)

from gancraft.evaluation.fid import (
    compute_fid,
    compute_fid_kid,
    compute_kid,
    fid_from_features,
    frechet_distance,
    kid_from_features,
    make_reference_stats,
)
from gancraft.evaluation.features import FeatureExtractor, resolve_extractor
from gancraft.evaluation.lpips import lpips_distance, lpips_diversity

__all__ = [
    "FeatureExtractor",
    "compute_fid",
    "compute_fid_kid",
    "compute_kid",
    "fid_from_features",
    "frechet_distance",
    "kid_from_features",
    "lpips_distance",
    "lpips_diversity",
    "make_reference_stats",
    "resolve_extractor",
]
