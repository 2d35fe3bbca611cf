"""Command line: ``python -m comp_lib.train`` trains on the default corpus (resumable).

Under ``torchrun --standalone --nproc_per_node N -m comp_lib.train ...`` it trains
data-parallel (:mod:`comp_lib.train.distributed`).
"""

from __future__ import annotations

import argparse
import json

from comp_lib.files import atomic_write
from comp_lib.train import distributed
from comp_lib.train.config import TrainConfig, add_flags
from comp_lib.train.patches import Trainer

__all__ = ["build_parser", "main"]


def build_parser() -> argparse.ArgumentParser:
    """The command line's parser: one flag per :class:`TrainConfig` field, each with a help."""
    parser = argparse.ArgumentParser(
        prog="python -m comp_lib.train",
        description=main.__doc__,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--out", required=True, help="run folder (checkpoints, log.csv)")
    parser.add_argument(
        "--val-images", type=int, default=None, help="validate on the first N (default: all)"
    )
    parser.add_argument(
        "--n-images", type=int, default=500, help="corpus size, train + val (default: %(default)s)"
    )
    parser.add_argument("--quiet", action="store_true", help="no progress bars or messages")
    add_flags(parser, TrainConfig)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Train on the default corpus, resuming from ``OUT/last.pt`` when present.

    ``python -m comp_lib.train --out runs/paper --epochs 15 --steps 100 --quality 10 30 50``
    ``torchrun --standalone --nproc_per_node 2 -m comp_lib.train --out runs/paper ...``
    """
    from comp_lib.data import build_corpus, native_tiles

    args = vars(build_parser().parse_args(argv))
    out, val_images, n_images, quiet = (
        args.pop(k) for k in ("out", "val_images", "n_images", "quiet")
    )
    config = TrainConfig(**args)
    distributed.setup()
    try:
        if not distributed.is_main():  # rank 0 builds (and caches) the corpus first
            distributed.barrier()
        corpus = build_corpus(n_images=n_images, progress=not quiet and distributed.is_main())
        if distributed.is_main():
            distributed.barrier()
        train, val = corpus.train, corpus.val
        if config.native_tiles:
            train, val = (native_tiles(corpus, s, config.native_tiles) for s in ("train", "val"))
        trainer = Trainer(config, train, val[:val_images], out)
        if distributed.is_main():
            data = dict(n_images=n_images, corpus=corpus.params["key"][:16],
                        train_files=len(corpus.train), val_files=len(corpus.val),
                        train=len(train), val=len(trainer.val_images))  # fmt: skip
            atomic_write(trainer.out_dir / "data.json", json.dumps(data, indent=1) + "\n")
        trainer.fit(resume=True, progress=not quiet)
    finally:
        distributed.shutdown()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
