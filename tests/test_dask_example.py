"""examples/dask_large_image.py runs small, stores a correct result and reports worker memory."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

pytest.importorskip("dask.array")
pytest.importorskip("distributed")
pytest.importorskip("zarr")
pytest.importorskip("scipy.signal")

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "dask_large_image.py"


def test_example_small(tmp_path, capsys):
    spec = importlib.util.spec_from_file_location("dask_large_image", SCRIPT)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    try:
        res = mod.main(["--size", "700", "--chunk", "200", "--workers", "1",
                        "--out", str(tmp_path / "y.zarr"), "--check"])
    except OSError as exc:  # no worker processes on this machine
        pytest.skip(f"dask.distributed cannot start worker processes here: {exc!r}")
    assert res["ok"] is True  # patches (edges included) equal scipy.signal.convolve2d
    assert len(res["peak_rss_mib"]) == 1
    assert all(v > 0 for v in res["peak_rss_mib"].values())
    assert "peak RSS" in capsys.readouterr().out
