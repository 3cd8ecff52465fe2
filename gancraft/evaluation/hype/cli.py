"""``gancraft hype create|serve|report``."""

from __future__ import annotations

from pathlib import Path

from gancraft.core.errors import ConfigError, require_extra
from gancraft.evaluation.hype.staircase import StaircaseRule

CREATE_KEYS = {
    "name", "real", "fake", "task", "raters", "images_per_rater", "groups", "study", "seed", "size",
    "qualification", "min_accuracy", "block_size", "time_limit_ms", "start_ms", "step_ms", "min_ms",
    "max_ms", "url", "input",
}


def _int(args: dict[str, str], key: str, default: int | None = None) -> int:
    if key not in args:
        if default is None:
            raise ConfigError(f"missing {key}=...; see `gancraft hype create` in docs/hype.md")
        return default
    try:
        return int(args[key])
    except ValueError:
        raise ConfigError(f"{key}={args[key]!r} is not a whole number") from None


def _float(args: dict[str, str], key: str, default: float) -> float:
    try:
        return float(args.get(key, default))
    except ValueError:
        raise ConfigError(f"{key}={args[key]!r} is not a number") from None


def _require(args: dict[str, str], key: str) -> str:
    if not args.get(key):
        raise ConfigError(f"missing {key}=...; see `gancraft hype create` in docs/hype.md")
    return args[key]


def _check_keys(args: dict[str, str], allowed: set[str], command: str) -> None:
    unknown = sorted(set(args) - allowed - {"_positional"})
    if unknown:
        raise ConfigError(f"gancraft hype {command}: unknown argument(s) {', '.join(unknown)}; known: {', '.join(sorted(allowed))}")


def create_command(args: dict[str, str], words: list[str]) -> int:
    """Create a study and print one invitation link per rater."""
    from gancraft.evaluation.hype.study import StudyConfig, create_study

    condition = {k.removeprefix("condition."): v for k, v in args.items() if k.startswith("condition.")}
    _check_keys({k: v for k, v in args.items() if not k.startswith("condition.")}, CREATE_KEYS, "create")
    name = _require(args, "name")
    rule = StaircaseRule(
        start_ms=_int(args, "start_ms", 500), step_ms=_int(args, "step_ms", 30),
        min_ms=_int(args, "min_ms", 100), max_ms=_int(args, "max_ms", 1000),
    )
    cfg = StudyConfig(
        name=name,
        task=args.get("task", "infinity"),
        real=Path(_require(args, "real")),
        fake=Path(_require(args, "fake")),
        raters=_int(args, "raters"),
        images_per_rater=_int(args, "images_per_rater"),
        study_dir=Path(args["study"]) if args.get("study") else None,
        groups=Path(args["groups"]) if args.get("groups") else None,
        seed=_int(args, "seed", 0),
        size=_int(args, "size", 256),
        qualification=_int(args, "qualification", 0),
        min_accuracy=_float(args, "min_accuracy", 0.65),
        block_size=_int(args, "block_size", 0),
        time_limit_ms=_int(args, "time_limit_ms", 3000),
        staircase=rule,
        base_url=args.get("url", "http://127.0.0.1:8000"),
        input=Path(args["input"]) if args.get("input") else None,
        condition=condition,
    )
    created = create_study(cfg)
    print(f"study {name} ({cfg.task}) created in {created.study_dir}")
    print(f"owner page (keep private): {created.owner_link()}")
    print("invitation links, one per rater:")
    for label, link in created.rater_links().items():
        print(f"  {label}  {link}")
    print(f"(also in {created.study_dir / 'links.txt'}; serve with: gancraft hype serve study={created.study_dir})")
    return 0


def serve_command(args: dict[str, str], words: list[str]) -> int:
    """Serve the rater and owner pages with uvicorn until interrupted."""
    require_extra("hype", "fastapi", "uvicorn")
    import uvicorn

    from gancraft.evaluation.hype import db
    from gancraft.evaluation.hype.app import create_app

    _check_keys(args, {"study", "host", "port", "url"}, "serve")
    study = Path(_require(args, "study"))
    host, port = args.get("host", "127.0.0.1"), _int(args, "port", 8000)
    app = create_app(study)
    base = args.get("url") or f"http://{host}:{port}"
    with db.opened(study) as con:
        tokens = con.execute("SELECT label, token FROM raters ORDER BY id").fetchall()
        owner = db.get_meta(con)["owner_token"]
    print(f"owner page: {base}/owner/{owner}")
    for row in tokens:
        print(f"  {row['label']}  {base}/r/{row['token']}")
    uvicorn.run(app, host=host, port=port, log_level="warning")
    return 0


def report_command(args: dict[str, str], words: list[str]) -> int:
    """Write report.json/.md and CSVs into STUDY/report (or out=) and print the Markdown."""
    from gancraft.evaluation.hype.analysis import N_BOOT, to_markdown, write_report

    _check_keys(args, {"study", "out", "n_boot", "seed"}, "report")
    study = Path(_require(args, "study"))
    rep = write_report(study, args.get("out"), n_boot=_int(args, "n_boot", N_BOOT), seed=_int(args, "seed", 0))
    print(to_markdown(rep))
    print(f"written to {rep['out_dir']}: report.md, report.json, summary.csv, raters.csv, answers.csv")
    return 0
