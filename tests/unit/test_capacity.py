"""Capacity estimates scale the measured figures to a workload, on both profiles, and say what they assume."""

from __future__ import annotations

import json
from dataclasses import asdict, replace
from pathlib import Path

import pytest

from core.errors import InputError
from service.capacity import GIB, Figures, estimate, load_figures, save_figures

FIGURES = Figures(
    measured_at=0.0, machine_cores=2, threads=2, store="/data", documents=1000, chunks=2000, entities=8000,
    store_bytes=100 * 1024**2, vector_bytes=(2000 + 8000) * 384 * 4, retrievals=30, retrieve_cpu_s=0.05,
    retrieve_wall_s=0.04, answers=3, answer_cpu_s=4.0, answer_wall_s=2.5, reader="r.gguf", reader_bytes=GIB,
    process_rss_bytes=3 * GIB,
)


def test_cpu_and_cores_follow_the_load() -> None:
    est = estimate(FIGURES, 1000, qps=20, answer_share=0.0)
    assert est.cpu_s_per_s == pytest.approx(1.0)  # 20 retrievals/s x 50 ms
    assert est.embedded.cores == 2 and est.reader_processes == 1  # 1.0 / 0.7 -> 2
    mixed = estimate(FIGURES, 1000, qps=10, answer_share=0.1)
    assert mixed.cpu_s_per_s == pytest.approx(10 * (0.9 * 0.05 + 0.1 * 4.0))
    assert mixed.embedded.cores == 7  # 4.45 / 0.7
    assert mixed.reader_processes == 4  # 1 answer/s x 2.5 s / 0.7 -> 3.6 processes
    assert mixed.server.cores == mixed.embedded.cores + 2


def test_memory_and_disk_scale_with_the_documents() -> None:
    small, large = estimate(FIGURES, 1000, 1, 0.0), estimate(FIGURES, 100_000, 1, 0.0)
    assert large.embedded.memory_gib > small.embedded.memory_gib
    assert large.server.memory_gib > small.server.memory_gib
    assert large.embedded.disk_gib == pytest.approx(round((100 * 1024**2 * 100 * 1.3 + 2 * GIB) / GIB, 2))
    assert any("1000 documents" in a for a in large.assumptions)
    assert set(large.embedded.parts) == {"cores", "memory", "disk"}


def test_bad_inputs_are_refused() -> None:
    with pytest.raises(InputError):
        estimate(FIGURES, -1, 1, 0.0)
    with pytest.raises(InputError):
        estimate(FIGURES, 1, 1, 1.5)
    with pytest.raises(InputError, match="no answers"):
        estimate(replace(FIGURES, answers=0, answer_cpu_s=None, answer_wall_s=None), 1, 1, 0.5)


def test_figures_round_trip_and_bad_files(tmp_path: Path) -> None:
    path = save_figures(FIGURES, tmp_path)
    assert load_figures(path) == FIGURES
    with pytest.raises(InputError, match="--calibrate"):
        load_figures(tmp_path / "none.json")
    path.write_text(json.dumps({**asdict(FIGURES), "surprise": 1}))
    with pytest.raises(InputError, match="does not hold"):
        load_figures(path)
