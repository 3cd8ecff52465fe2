"""Evaluation: FID/KID (clean-fid), LPIPS, world metrics, protocols, HYPE studies.

Importing this package registers the ``fid``, ``kid``, ``lpips`` and ``world`` metrics;
clean-fid and lpips themselves are imported only when a metric runs.
"""

from gancraft.evaluation import world_metrics  # noqa: F401  (registers the "world" metric)

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
