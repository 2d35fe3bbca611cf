"""Command line: ``python -m comp_lib.train`` trains on the default corpus (resumable)."""

from __future__ import annotations

import json

from comp_lib.train.config import TrainConfig
from comp_lib.train.trainer import Trainer


def main(argv: list[str] | None = None) -> int:
    """Command line: train on the default corpus, resuming from ``OUT/last.pt`` when present.

    ``python -m comp_lib.train --out runs/paper --epochs 15 --steps 100 --quality 10 30 50``
    """
    import argparse

    from comp_lib.data import build_corpus, native_tiles

    parser = argparse.ArgumentParser(prog="python -m comp_lib.train", description=main.__doc__)
    parser.add_argument("--out", required=True, help="run folder (checkpoints, log.csv)")
    parser.add_argument("--val-images", type=int, default=None, help="validate on the first N")
    parser.add_argument("--n-images", type=int, default=500, help="corpus size (train + val)")
    parser.add_argument("--quiet", action="store_true")
    defaults = TrainConfig()
    for name, value in (defaults.to_dict() | {"native_tiles": 0}).items():
        flag = "--" + name.replace("_", "-")
        if isinstance(value, bool):
            parser.add_argument(
                flag, type=lambda v: v.lower() in ("1", "true", "yes"), default=value
            )
        elif name in ("quality", "val_quality"):
            parser.add_argument(flag, type=int, nargs="+", default=value)
        elif value is None:  # optional settings
            kind = {"com_steps": int, "com_lr": float, "init": str}[name]
            parser.add_argument(flag, type=kind, default=None)
        else:
            parser.add_argument(flag, type=type(value), default=value)
    args = vars(parser.parse_args(argv))
    out, val_images, n_images, quiet = (
        args.pop(k) for k in ("out", "val_images", "n_images", "quiet")
    )
    config = TrainConfig(**args)
    corpus = build_corpus(n_images=n_images, progress=not quiet)
    train, val = corpus.train, corpus.val
    if config.native_tiles:
        train, val = (native_tiles(corpus, s, config.native_tiles) for s in ("train", "val"))
    trainer = Trainer(config, train, val[:val_images], out)
    data = dict(n_images=n_images, corpus=corpus.params["key"][:16],
                train_files=len(corpus.train), val_files=len(corpus.val),
                train=len(train), val=len(trainer.val_images))  # fmt: skip
    (trainer.out_dir / "data.json").write_text(json.dumps(data, indent=1) + "\n")
    trainer.fit(resume=True, progress=not quiet)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
