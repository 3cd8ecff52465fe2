"""benchmarks/gpu.sh must keep running: its CPU path, end to end, into one JSON file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_gpu_script_cpu_path_writes_its_json(tmp_path: Path) -> None:
    out = tmp_path / "gpu.json"
    env = {**os.environ, "PYTHON": sys.executable, "CUDA_VISIBLE_DEVICES": "", "OMP_NUM_THREADS": "1"}  # one thread: tiny ops, shared cores
    result = subprocess.run(["bash", str(REPO / "benchmarks" / "gpu.sh"), "--cpu", str(out)], env=env, cwd=tmp_path,
                            capture_output=True, text=True, timeout=600)  # a hang guard, not a speed check
    assert result.returncode == 0, result.stderr[-3000:]
    report = json.loads(out.read_text())
    assert report["device"] == "cpu"
    rows = report["cyclegan"]
    assert [(r["config"], r["batch"]) for r in rows] == [("fp32_eager", 1), ("fast", 1), ("fp32_eager", 2), ("fast", 2)]
    assert all("error" not in r and r["steps_per_s"] > 0 for r in rows), rows
    assert rows[1]["precision"] == "bf16" and rows[1]["channels_last"]
    assert set(report["speedup_fast_over_fp32_eager"]) == {"batch_1", "batch_2"}
    assert [(r["precision"], r["checkpoint_activations"]) for r in report["stargan_v2"]] == [
        ("fp32", False), ("bf16", False), ("fp32", True), ("bf16", True)]
    assert all("error" not in r for r in report["stargan_v2"]), report["stargan_v2"]
