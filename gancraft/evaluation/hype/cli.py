"""``gancraft hype create|serve|report``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from gancraft.core.errors import require_extra
from gancraft.core.values import NonNegativeInt, PositiveInt, Range
from gancraft.evaluation.hype.staircase import StaircaseRule



def create_command(
    name: str,
    real: Path,
    fake: Path,
    raters: PositiveInt,
    images_per_rater: PositiveInt,
    task: str = "infinity",
    study: Path | None = None,
    groups: Path | None = None,
    seed: int = 0,
    size: NonNegativeInt = 256,
    qualification: NonNegativeInt = 0,
    min_accuracy: float = 0.65,
    block_size: NonNegativeInt = 0,
    time_limit_ms: PositiveInt = 3000,
    start_ms: PositiveInt = 500,
    step_ms: PositiveInt = 30,
    min_ms: PositiveInt = 100,
    max_ms: PositiveInt = 1000,
    url: str = "http://127.0.0.1:8000",
    input: Path | None = None,
    condition: dict[str, str] | None = None,
) -> int:
    """Create a study and print one invitation link per rater (``condition.KEY=value``: how
    ``fake=CHECKPOINT`` translates, for example ``condition.direction=a2b``)."""
    from gancraft.evaluation.hype.study import StudyConfig, create_study

    cfg = StudyConfig(
        name=name, task=task, real=real, fake=fake, raters=raters, images_per_rater=images_per_rater,
        study_dir=study, groups=groups, seed=seed, size=size, qualification=qualification,
        min_accuracy=min_accuracy, block_size=block_size, time_limit_ms=time_limit_ms,
        staircase=StaircaseRule(start_ms=start_ms, step_ms=step_ms, min_ms=min_ms, max_ms=max_ms),
        base_url=url, input=input, condition=dict(condition or {}),
    )
    created = create_study(cfg)
    print(f"study {name} ({cfg.task}) created in {created.study_dir}")
    print(f"owner page (keep private): {created.owner_link()}")
    print("invitation links, one per rater:")
    for label, link in created.rater_links().items():
        print(f"  {label}  {link}")
    print(f"(also in {created.study_dir / 'links.txt'}; serve with: gancraft hype serve study={created.study_dir})")
    return 0


def serve_command(study: Path, host: str = "127.0.0.1", port: Annotated[int, Range(1, 65535)] = 8000, url: str | None = None) -> int:
    """Serve the rater and owner pages with uvicorn until interrupted."""
    require_extra("hype", "fastapi", "uvicorn")
    import uvicorn

    from gancraft.evaluation.hype import db
    from gancraft.evaluation.hype.app import create_app

    app = create_app(study)
    base = url or f"http://{host}:{port}"
    with db.opened(study) as con:
        tokens = con.execute("SELECT label, token FROM raters ORDER BY id").fetchall()
        owner = db.get_meta(con)["owner_token"]
    print(f"owner page: {base}/owner/{owner}")
    for row in tokens:
        print(f"  {row['label']}  {base}/r/{row['token']}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def report_command(study: Path, out: Path | None = None, n_boot: PositiveInt | None = None, seed: int = 0) -> int:
    """Write report.json/.md and CSVs into STUDY/report (or out=) and print the Markdown."""
    from gancraft.evaluation.hype.analysis import N_BOOT, to_markdown, write_report

    rep = write_report(study, out, n_boot=n_boot or N_BOOT, seed=seed)
    print(to_markdown(rep))
    print(f"written to {rep['out_dir']}: report.md, report.json, summary.csv, raters.csv, answers.csv")
    return 0
