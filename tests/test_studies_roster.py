"""The evaluation's roster (notebook 03): each codec at its settings, ours from its models' rows."""

import numpy as np
import pandas as pd
import pytest
import torch

from comp_lib.baselines import BASELINES, JPEGCodec
from comp_lib.coding import BicubicCodec, Codec, Ladder
from comp_lib.data import load_dataset_gray
from comp_lib.evaluate import evaluate, ladder_subset
from comp_lib.studies.constants import PAPER_JPEG_QUALITIES
from comp_lib.studies.roster import OURS, build_roster

NAMES = ["JPEG", "bicubic+JPEG", "WebP", "ours", "ComCNN+RecCNN", "ComCNN only", "RecCNN only"]
POST = "unet32q"  # the shipped post-filter of notebook 03's "RecCNN only", a model of the ladder


@pytest.fixture(scope="module")
def best():
    return Ladder.load("best")


@pytest.fixture
def one_thread():
    """The networks on tiny crops: one thread is as fast, and far faster on busy shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def _rung_qualities(ladder, rungs, model):
    return {q for m, q in (ladder.rungs[i] for i in rungs) if m == model}


def test_the_roster_gives_each_codec_its_settings(best):
    roster = build_roster(NAMES, "rec32x20n", POST, best, ladder_step=3,
                          our_qualities=[10, 30, 60, 90], post_qualities=[3, 10, 20],
                          sweep_step=4)  # fmt: skip
    codecs = roster.codecs
    # the reported codecs in the order asked, ours last
    assert list(codecs) == [n for n in NAMES if n != OURS] + [OURS]
    kept = ladder_subset(best, 3)
    assert list(roster.ours.rungs) == kept == codecs[OURS][1] and codecs[OURS][0] is best
    settings = {n: s for n, (_, s) in codecs.items()}
    jpeg = JPEGCodec.settings
    assert settings["JPEG"] == sorted(set(jpeg[::4]) | {jpeg[-1], *PAPER_JPEG_QUALITIES})
    webp = BASELINES["WebP"].settings
    assert settings["WebP"] == sorted(set(webp[::4]) | {webp[-1]})
    assert settings["bicubic+JPEG"] == settings["ComCNN only"] == [10, 30, 60, 90]
    # the models' sweeps include the ladder's evaluated rungs of that model
    assert settings["ComCNN+RecCNN"] == sorted(
        {10, 30, 60, 90} | _rung_qualities(best, kept, "rec32x20n")
    )
    assert settings["RecCNN only"] == sorted({3, 10, 20} | _rung_qualities(best, kept, POST))
    assert _rung_qualities(best, kept, POST)  # the post-filter has rungs among those kept
    assert roster.ours.sources == {"rec32x20n": "ComCNN+RecCNN", POST: "RecCNN only"}
    # the ladder's other models run at their evaluated rungs only, for the ladder
    extra = {r.name: list(r.settings) for r in roster.ours.extra}
    others = {m for m, _ in (best.rungs[i] for i in kept)} - {"rec32x20n", POST}
    assert extra == {m: sorted(_rung_qualities(best, kept, m)) for m in others}
    assert all(r.codec is best.codecs[r.name] for r in roster.ours.extra)
    # the codecs themselves
    down_up, _ = codecs["ComCNN+RecCNN"]
    comcnn_only, _ = codecs["ComCNN only"]
    assert isinstance(down_up, Codec) and down_up.name == "rec32x20n"
    assert comcnn_only.comcnn is down_up.comcnn and comcnn_only.reccnn is None
    assert isinstance(codecs["bicubic+JPEG"][0], BicubicCodec)
    table = roster.table()
    assert list(table.codec) == [*NAMES[:3], *NAMES[4:], *extra, OURS]


def test_without_its_codec_a_model_of_the_ladder_runs_at_its_rungs_only(best):
    roster = build_roster(["JPEG", "ours"], "rec32x20n", None, best, ladder_step=1)
    assert list(roster.codecs) == ["JPEG", OURS] and roster.ours.sources == {}
    assert {r.name for r in roster.ours.extra} == {m for m, _ in best.rungs}
    plain = build_roster(["JPEG", "RecCNN only"], "rec32x20n", None, "best")
    assert plain.ours is None and list(plain.codecs) == ["JPEG"]  # no post-filter: no RecCNN only
    with pytest.raises(ValueError, match="unknown codecs"):
        build_roster(["JPEG", "MPEG"], "rec32x20n")
    with pytest.raises(ValueError, match="needs a ladder"):
        build_roster(["ours"], "rec32x20n")


def test_the_ladder_rows_are_the_rows_of_running_the_ladder(best, one_thread):
    """Real Set5 crops, the shipped ladder at every 6th rung: its models are read
    from RecCNN only's sweep (the post-filter) and from runs at the rungs (the others)."""
    images = [(n, img[96:144, 96:144]) for n, img in load_dataset_gray("set5", limit=2)]
    roster = build_roster(["JPEG", "RecCNN only", "ours"], "rec32x20n", POST, best,
                          ladder_step=6, post_qualities=[3], sweep_step=9)  # fmt: skip
    rows = roster.evaluate({"set5": images, "again": images[:1]})
    assert set(rows.codec) == {"JPEG", "RecCNN only", OURS}  # the extra runs are not reported
    assert list(rows.columns[-1:]) == ["dataset"]
    assert list(dict.fromkeys(rows.codec)) == ["JPEG", "RecCNN only", OURS]  # ours last
    kept = ladder_subset(best, 6)
    ran = evaluate(best, images, kept, OURS, progress=False)
    ours = rows[(rows.codec == OURS) & (rows.dataset == "set5")]
    cols, key = ["image", "codec", "setting", "bytes", "bpp", "psnr", "ssim"], ["setting", "image"]
    pd.testing.assert_frame_equal(ours[cols].sort_values(key).reset_index(drop=True),
                                  ran[cols].sort_values(key).reset_index(drop=True))  # fmt: skip
    assert len(rows[(rows.codec == OURS) & (rows.dataset == "again")]) == len(kept)
    # the reported sweep of RecCNN only holds its own quality and its model's rungs
    post = rows[(rows.codec == "RecCNN only") & (rows.dataset == "set5")]
    assert sorted(set(post.setting)) == sorted({3} | _rung_qualities(best, kept, POST))
    assert np.all(rows.bpp > 0)
