"""Why a CycleGAN checkpoint adds glasses less often to some skin tones: the candidate causes, per group.

    python benchmarks/cyclegan_group_diagnosis.py checkpoint=RUN_DIR [n=200] [out=FILE.json]

On ``n`` held-out glasses-world faces, per skin-tone group:

* ``frame_contrast``: the data itself, mean |with glasses - without| (0..1) on the frame
  pixels of the ground truth: how visible the glasses are against that skin;
* ``mask_band`` / ``mask_outside``: an attention generator's mean mask inside and outside
  the glasses band when adding (does the mask open for this group?);
* ``d_real_glasses`` / ``d_real_plain``: the glasses-domain discriminator's mean patch logit
  on real faces with and without glasses, and ``d_auc``, how well it tells them apart
  (does the discriminator see glasses on this group, i.e. can it teach the generator?);
* ``add_success``: the oracle's verdict on the generator's output, for reference.

A diagnosis tool: it reads the oracle's verdicts, never trains on them.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import torch

import gancraft.components  # noqa: F401
from gancraft.cli import parse_key_values
from gancraft.core.reports import write_json
from gancraft.evaluation.world_metrics import GROUPS, build_eval_set
from gancraft.inference.translator import Translator
from gancraft.world.oracle import load_oracle


def auc(pos: torch.Tensor, neg: torch.Tensor) -> float:
    """The probability that a random positive scores above a random negative (ties count half)."""
    diff = pos[:, None] - neg[None, :]
    return float((diff > 0).double().mean() + 0.5 * (diff == 0).double().mean())


@torch.inference_mode()
def diagnose(checkpoint: str, n: int = 200) -> dict:
    translator = Translator.load(checkpoint, device="cpu")
    model = translator.model
    es = build_eval_set(n, translator.size)
    fake = translator.translate(es.no_glasses, direction="a2b")
    success = load_oracle()(fake).glasses.double()
    frames = es.glasses_mask.bool()
    contrast = ((es.with_glasses - es.no_glasses).abs().mean(1) / 2 * frames).flatten(1).sum(1) / frames.flatten(1).sum(1).clamp_min(1)
    mask = model.G_A.mask(es.no_glasses)[:, 0] if getattr(model.G_A, "attention", False) else None
    d_glasses = model.D_A(es.with_glasses).flatten(1).mean(1)
    d_plain = model.D_A(es.no_glasses).flatten(1).mean(1)
    out: dict = {"checkpoint": checkpoint, "n": n, "by_group": {}}
    for group in GROUPS:
        idx = torch.tensor([i for i, g in enumerate(es.groups) if g == group])
        row = {
            "faces": len(idx),
            "add_success": float(success[idx].mean()),
            "frame_contrast": float(contrast[idx].mean()),
            "d_real_glasses": float(d_glasses[idx].mean()),
            "d_real_plain": float(d_plain[idx].mean()),
            "d_auc": auc(d_glasses[idx], d_plain[idx]),
        }
        if mask is not None:
            band = es.band[idx]
            row["mask_band"] = float((mask[idx] * band).sum() / band.sum())
            row["mask_outside"] = float((mask[idx] * ~band).sum() / (~band).sum())
        out["by_group"][group] = row
    return out


def main(argv: list[str]) -> int:
    args = parse_key_values(argv)
    result = diagnose(args["checkpoint"], int(args.get("n", 200)))
    print(json.dumps(result["by_group"], indent=1))
    if "out" in args:
        write_json(Path(args["out"]), result)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
