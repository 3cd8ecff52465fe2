"""``gancraft hype create|report`` from the command line, and fake=CHECKPOINT."""

from __future__ import annotations

import stat

import pytest
import torch
from PIL import Image
from torch import nn

from gancraft.cli import main
from gancraft.evaluation.hype import db
from gancraft.evaluation.hype.study import StudyConfig, create_study


def test_create_prints_one_link_per_rater_and_report_writes_files(image_dirs, tmp_path, capsys, helpers):
    real, fake, meta = image_dirs
    study = tmp_path / "study"
    rc = main(["hype", "create", "name=cli", f"real={real}", f"fake={fake}", "task=infinity", "raters=3",
               "images_per_rater=4", f"groups={meta}", f"study={study}", "size=24", "url=http://example.test:9000"])
    out = capsys.readouterr().out
    assert rc == 0
    links = [line.split()[-1] for line in out.splitlines() if line.strip().startswith("rater-")]
    assert len(links) == 3 and len(set(links)) == 3
    assert all(link.startswith("http://example.test:9000/r/") and len(link.rsplit("/", 1)[1]) >= 20 for link in links)
    assert stat.S_IMODE((study / "links.txt").stat().st_mode) == 0o600
    with db.opened(study) as con:
        kinds = [r[0] for r in con.execute("SELECT t.truth FROM trials t WHERE t.rater_id = 1")]
    assert sorted(kinds) == ["fake", "fake", "real", "real"]  # balanced per rater
    helpers.answer_all(study, links[0].rsplit("/", 1)[1], helpers.wrong)
    assert main(["hype", "report", f"study={study}", "n_boot=300"]) == 0
    out = capsys.readouterr().out
    assert "| HYPE-infinity (error over all answers) | 100.0 % |" in out
    assert (study / "report" / "report.md").is_file() and (study / "report" / "summary.csv").is_file()


@pytest.mark.parametrize(
    "extra, message",
    [
        (["images_per_rater=5"], "must be even"),
        (["task=staircase"], "task='staircase' is not one of"),
        (["images_per_rater=60"], "only 24 are available"),
        (["raters=many"], "not a whole number"),
        (["colour=red"], "does not take colour=red"),
        (["qualification=3"], "even number"),
    ],
)
def test_bad_arguments_give_one_clear_line(image_dirs, tmp_path, capsys, extra, message):
    real, fake, _ = image_dirs
    args = {"name": "x", "real": str(real), "fake": str(fake), "raters": "2", "images_per_rater": "4", "study": str(tmp_path / "x")}
    for word in extra:
        key, _, value = word.partition("=")
        args[key] = value
    rc = main(["hype", "create", *(f"{k}={v}" for k, v in args.items())])
    err = capsys.readouterr().err
    assert rc == 2 and message in err and len(err.strip().splitlines()) == 1


def test_existing_study_is_not_overwritten_and_missing_study_is_named(image_dirs, tmp_path, capsys):
    real, fake, _ = image_dirs
    words = ["hype", "create", "name=x", f"real={real}", f"fake={fake}", "raters=1", "images_per_rater=2", f"study={tmp_path / 'x'}"]
    assert main(words) == 0
    assert main(words) == 2
    assert "already holds a study" in capsys.readouterr().err
    assert main(["hype", "report", f"study={tmp_path / 'nothing'}"]) == 2
    assert "is not a HYPE study" in capsys.readouterr().err


class Invert(nn.Module):
    """A stand-in model: ``translate`` negates the image."""

    def translate(self, images: torch.Tensor, **_: object) -> torch.Tensor:
        return -images


def test_fake_can_be_a_checkpoint_rendered_by_the_translator(image_dirs, tmp_path, monkeypatch):
    from gancraft.inference import translator

    seen = {}

    def load(cls, path, device="auto", **kw):
        seen["path"] = path
        return translator.Translator(Invert(), device="cpu", size=16)

    monkeypatch.setattr(translator.Translator, "load", classmethod(load))
    real, _, _ = image_dirs
    ckpt = tmp_path / "ckpt"
    ckpt.mkdir()
    created = create_study(StudyConfig(name="ck", task="rubric", real=real, fake=ckpt, raters=1, images_per_rater=3,
                                       study_dir=tmp_path / "ck", size=16))
    assert seen["path"] == ckpt
    assert len(list((tmp_path / "ck" / "_translated").glob("*.png"))) == 24
    with db.opened(created.study_dir) as con:
        pairs = con.execute("SELECT b.source, i.source FROM trials t JOIN images i ON i.id = t.image_id"
                            " JOIN images b ON b.id = t.before_id").fetchall()
    assert len(pairs) == 3
    for before, after in pairs:  # each translated image is paired with its own input
        assert before.rsplit("/", 1)[1].split(".")[0] == after.rsplit("/", 1)[1].split(".")[0]


def test_a_run_directory_is_never_searched_for_fakes(image_dirs, tmp_path, monkeypatch, capsys):
    """Its samples/ are training grids: without a checkpoint, one line; with one, its model translates."""
    from gancraft.inference import translator

    real, _, _ = image_dirs
    run = tmp_path / "runs" / "cyclegan"
    (run / "samples").mkdir(parents=True)
    (run / "config.yaml").write_text("seed: 0\n")
    for i in range(30):
        Image.new("RGB", (64, 16)).save(run / "samples" / f"step_{i:08d}.png")
    words = ["hype", "create", "name=r", f"real={real}", "raters=1", "images_per_rater=2", f"study={tmp_path / 'r'}"]
    for fake in (run, run / "samples"):
        assert main([*words, f"fake={fake}"]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and "training grids, not fakes" in err[0] and "gancraft translate" in err[0]
    assert not (tmp_path / "r").exists()

    seen = {}

    def load(cls, path, device="auto", **kw):
        seen["path"] = path
        return translator.Translator(Invert(), device="cpu", size=16)

    monkeypatch.setattr(translator.Translator, "load", classmethod(load))
    (run / "checkpoints" / "step_00000010").mkdir(parents=True)
    (run / "checkpoints" / "step_00000010" / "model.safetensors").write_bytes(b"")
    created = create_study(StudyConfig(name="r2", task="infinity", real=real, fake=run, raters=1, images_per_rater=4,
                                       study_dir=tmp_path / "r2", size=16))
    assert seen["path"] == run
    with db.opened(created.study_dir) as con:
        sources = [r["source"] for r in con.execute("SELECT source FROM images WHERE kind = 'fake'")]
    assert sources and all("_translated" in s and "samples" not in s for s in sources)


def test_files_holding_tokens_are_private(image_dirs, tmp_path):
    import os
    import stat

    real, fake, _ = image_dirs
    old = os.umask(0o022)  # a usual umask: without care, files would be world-readable
    try:
        created = create_study(StudyConfig(name="p", task="infinity", real=real, fake=fake, raters=2, images_per_rater=2,
                                           study_dir=tmp_path / "p", size=16))
        with db.opened(created.study_dir) as con:  # what `hype serve` does: the WAL files appear
            con.execute("INSERT INTO meta (key, value) VALUES ('probe', '1')")
            holding = [db.db_path(created.study_dir), created.study_dir / "links.txt"]
            holding += [p for p in created.study_dir.glob(f"{db.DB_NAME}-*")]
            assert len(holding) >= 3
            for path in holding:
                assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    finally:
        os.umask(old)
    assert created.owner_token in (created.study_dir / "links.txt").read_text()
