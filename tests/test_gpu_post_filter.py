"""benchmarks/gpu_post_filter.sh, the prepared GPU continuation, run on the CPU at a tiny scale."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pandas as pd
import pytest

from comp_lib.coding import Codec
from comp_lib.config import PROJECT_ROOT
from comp_lib.train.bank import save_pack

SCRIPT = PROJECT_ROOT / "benchmarks" / "gpu_post_filter.sh"


@pytest.fixture(scope="module")
def pack(tmp_path_factory, bsds_test):
    """Real photos cut small: three to train on, one held out."""
    crops = [image[:96, :128] for _, image in bsds_test[:4]]
    path = tmp_path_factory.mktemp("pack") / "pack.npz"
    return save_pack(path, crops[:3], [("held-out", crops[3])], {"n_images": [500]})


@pytest.mark.skipif(shutil.which("bash") is None, reason="needs bash")
def test_the_gpu_script_continues_a_model_and_returns_its_files(tmp_path, pack):
    out = tmp_path / "out"
    env = dict(os.environ, PACK=str(pack), PY=sys.executable, BATCH="4", PATCH="32",
               PRECISION="fp32", EPOCHS="1", QUALITY_AWARE="true")  # fmt: skip
    command = ["bash", str(SCRIPT), "post64s2lo", str(out), "20"]
    done = subprocess.run(command, env=env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(p.name for p in out.iterdir()) == ["best.pt", "console.txt", "log.csv"]
    log = pd.read_csv(out / "log.csv")
    assert list(log.epoch) == [0, 1] and log.step.iloc[-1] >= 1
    best = Codec.load(out / "best.pt")
    assert best.name == "out" and best.quality_aware
    assert best.metadata["training"]["init"] == "post64s2lo"


def test_the_gpu_script_says_when_the_pack_is_missing(tmp_path):
    env = dict(os.environ, PACK=str(tmp_path / "none.npz"), PY=sys.executable)
    done = subprocess.run(["bash", str(SCRIPT), "post64s2lo", str(tmp_path / "out")], env=env,
                          cwd=PROJECT_ROOT, capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.returncode == 2 and "no pack at" in done.stderr
