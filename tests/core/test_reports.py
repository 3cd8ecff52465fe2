"""Report writers: JSON-safe values, Markdown tables, image grids."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from gancraft.core.reports import format_number, jsonable, markdown_table, save_grid, write_json


def test_json_cleaning_handles_what_metrics_produce(tmp_path: Path) -> None:
    class Named:
        name = "tiny-extractor"

    data = {"a": math.inf, "b": [np.float32(0.5), (1, 2)], 3: np.int64(7), "c": Named(), "d": object(), "e": Path("/x"),
            "t": torch.tensor(2.5), "n": float("nan")}
    cleaned = jsonable(data)
    assert cleaned == {"a": "inf", "b": [0.5, [1, 2]], "3": 7, "c": "tiny-extractor", "d": "object", "e": "/x", "t": 2.5, "n": "nan"}
    assert json.loads(write_json(tmp_path / "sub" / "r.json", data).read_text()) == cleaned


def test_markdown_table_and_numbers() -> None:
    table = markdown_table(["metric", "value"], [["FID", format_number(12.345678)], ["big", format_number(12345.678)]])
    assert table.splitlines() == ["| metric | value |", "|---|---|", "| FID | 12.3457 |", "| big | 12345.7 |"]
    assert format_number(math.inf) == "inf" and format_number(3) == "3"


def test_grid_has_one_row_per_tensor(tmp_path: Path) -> None:
    rows = [torch.full((3, 3, 8, 8), -1.0), torch.full((3, 3, 8, 8), 1.0)]
    image = np.asarray(Image.open(save_grid(rows, tmp_path / "g" / "grid.png")))
    assert image.shape == (2 * 10 + 2, 3 * 10 + 2, 3)  # 8 px images, 2 px padding
    assert image[2 + 4, 2 + 4].tolist() == [0, 0, 0] and image[12 + 4, 2 + 4].tolist() == [255, 255, 255]
