"""HYPE human evaluation: study creation, the rater web app and the analysis.

* :func:`create_study` (``gancraft hype create``) samples a balanced real/fake set
  per rater, copies it into a study directory and stores the study in SQLite;
* :func:`create_app` (``gancraft hype serve``) is the FastAPI app raters and the
  owner open in a browser;
* :func:`write_report` (``gancraft hype report``) turns the answers into HYPE-infinity,
  HYPE-time and rubric scores with bootstrap confidence intervals.

See docs/hype.md. The web app is imported lazily so that the analysis does not
need FastAPI.
"""

from gancraft.evaluation.hype.analysis import analyse, bootstrap_mean, bootstrap_ratio, infinity_score, write_report
from gancraft.evaluation.hype.staircase import StaircaseRule, rater_threshold, simulate_rater
from gancraft.evaluation.hype.study import StudyConfig, create_study


def create_app(study_dir):  # noqa: ANN001, ANN201  (thin lazy re-export)
    """The FastAPI app for ``study_dir`` (see :mod:`gancraft.evaluation.hype.app`)."""
    from gancraft.evaluation.hype.app import create_app as _create_app

    return _create_app(study_dir)


__all__ = [
    "StaircaseRule",
    "StudyConfig",
    "analyse",
    "bootstrap_mean",
    "bootstrap_ratio",
    "create_app",
    "create_study",
    "infinity_score",
    "rater_threshold",
    "simulate_rater",
    "write_report",
]
