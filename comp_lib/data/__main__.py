"""Command line of :mod:`comp_lib.data`: download datasets and check them.

::

    python -m comp_lib.data fetch bsds300 kodak [--dest DIR] [--base-url URL] [--force]
    python -m comp_lib.data verify bsds300 kodak [--dest DIR]

Exit status: 0 success, 1 failure (download, checksum, missing files), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from comp_lib.config import data_dir
from comp_lib.data.download import MIRROR_ENV, fetch, load_manifest, verify
from comp_lib.data.registry import DOWNLOADS


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m comp_lib.data`` (every option has a help text)."""
    parser = argparse.ArgumentParser(
        prog="python -m comp_lib.data",
        description="Download BSDS300 and Kodak and check them against the shipped sha256 "
        "manifests.",
    )
    sub = parser.add_subparsers(dest="command", required=True, help="what to do")
    names = {"choices": sorted(DOWNLOADS), "nargs": "+", "metavar": "NAME"}
    dest_help = "data folder (default: $COMP_LIB_DATA or <project>/data)"
    p_fetch = sub.add_parser("fetch", help="download and verify datasets")
    p_fetch.add_argument("names", help=f"one or more of {', '.join(sorted(DOWNLOADS))}", **names)
    p_fetch.add_argument("--dest", type=Path, default=None, help=dest_help)
    p_fetch.add_argument(
        "--base-url",
        default=None,
        help=f"mirror URL prefix instead of the official servers (default: ${MIRROR_ENV})",
    )
    p_fetch.add_argument("--force", action="store_true", help="download again even when intact")
    p_fetch.add_argument(
        "--timeout", type=float, default=60, help="network timeout in seconds (default: 60)"
    )
    p_verify = sub.add_parser("verify", help="check datasets on disk")
    p_verify.add_argument("names", help=f"one or more of {', '.join(sorted(DOWNLOADS))}", **names)
    p_verify.add_argument("--dest", type=Path, default=None, help=dest_help)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failure, 2 usage)."""
    args = build_parser().parse_args(argv)
    root = args.dest if args.dest is not None else data_dir()
    status = 0
    for name in dict.fromkeys(args.names):
        if args.command == "fetch":
            try:
                fetch(
                    name,
                    dest=root,
                    base_url=args.base_url,
                    force=args.force,
                    timeout=args.timeout,
                )
            except (ValueError, RuntimeError, OSError) as exc:
                print(f"{name}: error: {exc}", file=sys.stderr)
                status = 1
                continue
        problems = verify(name, root)
        for line in problems:
            print(f"{name}: {line}", file=sys.stderr)
        if problems:
            status = 1
        else:
            print(f"{name}: ok ({len(load_manifest(name))} files verified in {root})")
    return status


if __name__ == "__main__":
    sys.exit(main())
