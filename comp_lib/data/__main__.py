"""Command line of :mod:`comp_lib.data`: download the datasets, check them, list their sources.

::

    python -m comp_lib.data fetch [NAME ...] [--dest DIR] [--base-url URL] [--force]
    python -m comp_lib.data verify [NAME ...] [--dest DIR]
    python -m comp_lib.data sources

Without names, ``fetch`` and ``verify`` take every download (``make data``). Exit status:
0 success, 1 failure (download, checksum, missing files), 2 usage.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from pathlib import Path

from comp_lib.config import data_dir
from comp_lib.data.download import (
    MIRROR_ENV,
    fetch,
    load_manifest,
    mirror_folder,
    source_urls,
    verify,
)
from comp_lib.data.registry import DOWNLOADS


def build_parser() -> argparse.ArgumentParser:
    """The parser of ``python -m comp_lib.data`` (every option has a help text)."""
    parser = argparse.ArgumentParser(
        prog="python -m comp_lib.data",
        description="Download the study's datasets from their public sources and check them "
        "against the shipped sha256 manifests.",
    )
    sub = parser.add_subparsers(dest="command", required=True, help="what to do")
    known = ", ".join(DOWNLOADS)
    names = {"nargs": "*", "metavar": "NAME"}  # checked in main (argparse rejects an empty
    # list against choices)
    dest_help = "data folder (default: $COMP_LIB_DATA or <project>/data)"
    p_fetch = sub.add_parser("fetch", help="download and verify datasets (resumable)")
    p_fetch.add_argument("names", help=f"any of {known} (default: all)", **names)
    p_fetch.add_argument("--dest", type=Path, default=None, help=dest_help)
    p_fetch.add_argument(
        "--base-url",
        default=None,
        help="a folder (http:// or file://) holding the named download's files side by side, "
        f"instead of its source (default: ${MIRROR_ENV}/<name>, else the official source)",
    )
    p_fetch.add_argument("--force", action="store_true", help="download again even when intact")
    p_fetch.add_argument(
        "--timeout", type=float, default=60, help="network timeout in seconds (default: 60)"
    )
    p_verify = sub.add_parser("verify", help="check datasets on disk")
    p_verify.add_argument("names", help=f"any of {known} (default: all)", **names)
    p_verify.add_argument("--dest", type=Path, default=None, help=dest_help)
    sub.add_parser("sources", help="list every download: folders, size, source, terms")
    return parser


def sources() -> str:
    """Every download as text: its folders, files, size, URLs (or mirror paths), terms and
    citation (``python -m comp_lib.data sources``)."""
    lines = []
    for name, spec in DOWNLOADS.items():
        urls = source_urls(name)
        shown = urls[0] if len(urls) == 1 else f"{urls[0]} ... ({len(urls)} files)"
        lines += [
            f"{name}: {', '.join(f + '/' for f in spec.folders)} "
            f"{len(load_manifest(name))} files, {spec.size / 1e6:.1f} MB",
            f"  source:   {shown}",
            f"  mirror:   {source_urls(name, mirror_folder(f'<{MIRROR_ENV}>', name))[0]}"
            + (" ..." if len(spec.files) > 1 else ""),
            f"  terms:    {spec.terms}",
            f"  citation: {spec.citation}",
        ]
    return "\n".join(lines)


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit status (0 ok, 1 failure, 2 usage)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    unknown = [n for n in getattr(args, "names", ()) if n not in DOWNLOADS]
    if unknown:
        parser.error(f"unknown dataset(s) {', '.join(unknown)}; known: {', '.join(DOWNLOADS)}")
    if args.command == "sources":
        print(sources())
        return 0
    if args.command == "fetch" and args.base_url is not None and len(args.names) != 1:
        print("error: --base-url is one download's folder: give exactly one NAME", file=sys.stderr)
        return 2
    root = args.dest if args.dest is not None else data_dir()
    status = 0
    for name in dict.fromkeys(args.names or DOWNLOADS):
        if args.command == "fetch":
            try:
                fetch(name, root, args.base_url, force=args.force, timeout=args.timeout)
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
