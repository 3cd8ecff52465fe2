"""How far a StarGAN v2 attention generator's mask is open, inside and outside the glasses band.

    python benchmarks/stargan_v2_mask_opening.py CHECKPOINT [n=40]

Held-out no-glasses faces are translated (latent-guided, seed 0) into every domain by the
EMA generator; prints per domain the mean sigmoid mask inside and outside the band as JSON.
A closed mask (near 0 everywhere) means the outputs are the inputs: the attention trap.
"""

from __future__ import annotations

import json
import sys

import torch

import gancraft.components  # noqa: F401
from gancraft.evaluation.world_metrics import build_eval_set
from gancraft.inference.translator import Translator


def mask_opening(checkpoint: str, n: int = 40) -> dict[str, dict[str, float]]:
    """``{domain: {"band": mean mask in the band, "outside": mean mask outside it}}``."""
    model = Translator.load(checkpoint, device="cpu").model
    es = build_eval_set(n, model.img_size, [d for d in model.domains if d != "no_glasses"])
    band = es.band.unsqueeze(1).float()
    raw: list[torch.Tensor] = []
    model.generator_ema.to_rgb.register_forward_hook(lambda module, args, out: raw.append(out))
    result = {}
    with torch.no_grad():
        for domain in model.domains:
            model.translate(es.no_glasses, domain=domain, seed=0)
            mask = torch.sigmoid(raw[-1][:, 3:])
            result[domain] = {"band": round(float((mask * band).sum() / band.sum()), 4),
                              "outside": round(float((mask * (1 - band)).sum() / (1 - band).sum()), 4)}
    return result


if __name__ == "__main__":
    words = dict(w.split("=", 1) for w in sys.argv[2:])
    print(json.dumps(mask_opening(sys.argv[1], int(words.get("n", 40)))))
