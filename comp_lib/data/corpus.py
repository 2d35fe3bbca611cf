"""The study's corpus: a seeded, stratified draw of training images, cached.

:func:`build_corpus` turns source folders into the study's datasets, as the
dissertation did with RAISE: a seeded random choice of ``n_images`` images,
stratified by category, grayscale, resized with antialiasing to ``size`` x
``size`` (stretched, or centre-cropped to a square first), a validation split,
and a test set (BSDS300 test at native size and at ``size`` x ``size``). The
result is cached under :func:`comp_lib.config.cache_dir` (arrays + an index
CSV) and rebuilt only when its inputs or parameters change. A file that
cannot be read is skipped and listed with the reason in the index; training
images that nearly duplicate a test image are dropped (or refused).
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from comp_lib.config import cache_dir, data_dir
from comp_lib.data.images import list_images, load_gray, read_image, resize, thumbnail
from comp_lib.data.registry import dataset_dir
from comp_lib.files import move_into_place, sha256_file

__all__ = [
    "CORPUS_DATASETS",
    "CORPUS_VERSION",
    "Corpus",
    "absolute_path",
    "build_corpus",
    "default_sources",
    "find_leaks",
    "holdout_images",
    "native_tiles",
]

#: Bumped whenever the corpus format or the preprocessing changes (invalidates caches).
CORPUS_VERSION = 1

#: The datasets :func:`build_corpus` reads by default: its training sources (BSDS300 train,
#: Train400), then its test set (BSDS300 test)
CORPUS_DATASETS = ("bsds300_train", "train400", "bsds300_test")


def find_leaks(
    train_thumbs: np.ndarray, test_thumbs: np.ndarray, threshold: float = 0.5
) -> list[tuple[int, int, float]]:
    """Pairs ``(train index, test index, r)`` whose thumbnails correlate above ``threshold``."""
    if len(train_thumbs) == 0 or len(test_thumbs) == 0:
        return []
    corr = np.asarray(train_thumbs) @ np.asarray(test_thumbs).T
    return [(int(i), int(j), float(corr[i, j])) for i, j in np.argwhere(corr > threshold)]


# --------------------------------------------------------------------------- corpus


@dataclass
class Corpus:
    """The study's datasets, as :func:`build_corpus` makes them.

    Attributes
    ----------
    train, val : numpy.ndarray
        ``(N, size, size)`` float32 grayscale images in [0, 1].
    test : numpy.ndarray
        ``(100, size, size)`` test images (BSDS300 test by default).
    test_native : list of numpy.ndarray
        The same test images at their native size.
    test_names : list of str
        File stems of the test images.
    index : pandas.DataFrame
        One row per source file considered: ``path``, ``sha256``, ``source``,
        ``category``, ``split`` (train, val, test, unused, skipped, dropped),
        ``position`` (row in its split's array), ``height``, ``width`` (original
        size), ``reason`` (why a file was skipped or dropped).
    params : dict
        The parameters it was built with (and the cache key).
    path : Path
        Its cache folder.
    """

    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    test_native: list[np.ndarray]
    test_names: list[str]
    index: pd.DataFrame
    params: dict
    path: Path | None = None
    from_cache: bool = field(default=False, compare=False)

    def summary(self) -> pd.DataFrame:
        """Counts per split and source (``skipped`` and ``dropped`` included)."""
        return (
            self.index.groupby(["source", "split"]).size().unstack(fill_value=0).astype(int)
        ).reset_index()

    @property
    def index_sha256(self) -> str:
        """sha256 of the index as CSV: names this exact dataset in provenance records."""
        return hashlib.sha256(self.index.to_csv(index=False).encode()).hexdigest()

    def problems(self) -> pd.DataFrame:
        """Files that were skipped or dropped, with the reason."""
        bad = self.index[self.index.split.isin(["skipped", "dropped"])]
        return bad[["path", "source", "split", "reason"]].reset_index(drop=True)


def native_tiles(corpus: Corpus, split: str = "train", tile: int = 180) -> np.ndarray:
    """Tiles of a corpus split's source images at their native scale.

    :func:`build_corpus` stretches every image to ``size x size`` (the
    dissertation's protocol), which shrinks a 481x321 BSDS300 photo by 2.7x in
    one direction and 1.8x in the other. A codec tested at native size (the
    issue's standard protocol) is better trained at the scale it will see:
    this re-reads the same files (same draw, same split, same leakage guard),
    rounds them to 8 bits as the test images are, and cuts each into
    ``tile x tile`` tiles that cover it (overlapping when the side is not a
    multiple of ``tile``; 6 tiles for a 481x321 image). Files smaller than
    ``tile`` on a side are skipped with a warning.

    Parameters
    ----------
    corpus : Corpus
    split : {"train", "val"}
    tile : int
        Tile side (patches are drawn from tiles, so it bounds the patch size).

    Returns
    -------
    numpy.ndarray
        ``(N, tile, tile)`` float32 in [0, 1], in the split's order.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}")
    rows = corpus.index[corpus.index.split == split].sort_values("position")
    tiles = []
    for rel in rows.path:
        image = np.round(read_image(absolute_path(rel)) * 255) / np.float32(255)
        h, w = image.shape
        if min(h, w) < tile:
            warnings.warn(f"{rel}: {w}x{h} is smaller than a {tile}x{tile} tile; skipped",
                          stacklevel=2)  # fmt: skip
            continue
        tops = np.linspace(0, h - tile, -(-h // tile)).round().astype(int)
        lefts = np.linspace(0, w - tile, -(-w // tile)).round().astype(int)
        tiles += [image[t : t + tile, s : s + tile] for t in tops for s in lefts]
    if not tiles:
        raise ValueError(f"no {split} image of the corpus is at least {tile}x{tile}")
    return np.stack(tiles).astype(np.float32)


def holdout_images(corpora: Sequence[Corpus]) -> list[tuple[str, np.ndarray]]:
    """Validation images that no corpus trains on, at native size, as 8-bit grayscale.

    Models trained on different corpora (say 500 and 600 images, whose
    validation splits differ) can be compared, or combined into a
    :class:`~comp_lib.coding.Ladder`, without the test set and without images
    any of them saw in training: the files in some corpus's ``val`` split and in
    no corpus's ``train`` split, sorted by path.
    """
    val, train = set(), set()
    for corpus in corpora:
        val |= set(corpus.index.path[corpus.index.split == "val"])
        train |= set(corpus.index.path[corpus.index.split == "train"])
    paths = sorted(val - train)
    if not paths:
        raise ValueError("every validation image of these corpora is in a training split")
    out = []
    for rel in paths:
        path = absolute_path(rel)
        out.append((path.stem, load_gray(path)))
    return out


def default_sources() -> list[Path]:
    """The default training sources here: BSDS300 train (200) and Train400 (400).

    RAISE (the dissertation's source) cannot be downloaded offline; pass its
    folder of NEFs as ``sources`` instead.
    """
    return [dataset_dir(name) for name in CORPUS_DATASETS[:-1]]


def _resolve(source: str | os.PathLike) -> Path:
    path = Path(source)
    return path if path.is_dir() else dataset_dir(str(source))


def _relative(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(data_dir().resolve()))
    except ValueError:
        return str(path.resolve())


def absolute_path(rel: str) -> Path:
    """The file an index ``path`` names: the inverse of :func:`_relative`."""
    return Path(rel) if Path(rel).is_absolute() else data_dir() / rel


def _fingerprint(files: Iterable[Path]) -> list[tuple[str, int, int]]:
    out = []
    for p in files:
        st = p.stat()
        out.append((str(p.resolve()), st.st_size, st.st_mtime_ns))
    return out


def _read_categories(categories, files: Sequence[Path], sources: Sequence[Path]) -> list[str]:
    """Category of each file: from a CSV/dict keyed by file name or stem, else its source folder."""
    table: dict[str, str] = {}
    if isinstance(categories, (str, os.PathLike)):
        df = pd.read_csv(categories)
        if df.shape[1] < 2:
            raise ValueError(
                f"categories CSV {categories} needs a file column and a category column"
            )
        key, cat = df.columns[0], df.columns[-1]
        table = {str(Path(str(k)).stem): str(v) for k, v in zip(df[key], df[cat], strict=True)}
    elif isinstance(categories, dict):
        table = {str(Path(str(k)).stem): str(v) for k, v in categories.items()}
    out = []
    for f in files:
        source = next(s for s in sources if f.is_relative_to(s))
        out.append(table.get(f.stem, source.name))
    return out


def _allocate(counts: dict[str, int], total: int) -> dict[str, int]:
    """Split ``total`` over categories in proportion to ``counts`` (largest remainder)."""
    available = sum(counts.values())
    total = min(total, available)
    if available == 0:
        return {k: 0 for k in counts}
    exact = {k: total * c / available for k, c in counts.items()}
    alloc = {k: int(v) for k, v in exact.items()}
    for k in sorted(exact, key=lambda k: (alloc[k] - exact[k], k))[: total - sum(alloc.values())]:
        alloc[k] += 1
    return alloc


def _cache_key(params: dict, fingerprint: list) -> str:
    blob = json.dumps({"params": params, "files": fingerprint}, sort_keys=True, default=str)
    return hashlib.sha256(blob.encode()).hexdigest()


def _load_cached(folder: Path, key: str) -> Corpus | None:
    """The corpus in ``folder`` if it is complete and was built for ``key``, else None."""
    try:
        params = json.loads((folder / "params.json").read_text())
        if params.get("key") != key:
            return None
        with np.load(folder / "arrays.npz") as z:
            names = list(params["test_names"])
            corpus = Corpus(
                train=z["train"],
                val=z["val"],
                test=z["test"],
                test_native=[z[f"test_native_{i}"] for i in range(len(names))],
                test_names=names,
                index=pd.read_csv(folder / "index.csv", keep_default_na=False),
                params=params,
                path=folder,
                from_cache=True,
            )
        return corpus
    except (OSError, KeyError, ValueError, json.JSONDecodeError):
        return None


def _save(corpus: Corpus, folder: Path) -> None:
    """Write atomically: everything into a temporary folder, ``params.json`` last, then rename."""
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=f".{folder.name}.tmp-"))
    try:
        arrays = {"train": corpus.train, "val": corpus.val, "test": corpus.test}
        arrays |= {f"test_native_{i}": a for i, a in enumerate(corpus.test_native)}
        np.savez(tmp / "arrays.npz", **arrays)
        corpus.index.to_csv(tmp / "index.csv", index=False)
        (tmp / "params.json").write_text(json.dumps(corpus.params, indent=2, default=str))
        if folder.exists():
            shutil.rmtree(folder)
        move_into_place(tmp, folder)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def build_corpus(
    sources: Sequence[str | os.PathLike] | None = None,
    n_images: int = 500,
    size: int = 180,
    seed: int = 0,
    val_fraction: float = 0.1,
    crop: bool = False,
    test_source: str | os.PathLike = CORPUS_DATASETS[-1],
    categories: str | os.PathLike | dict | None = None,
    leak_threshold: float = 0.5,
    on_leak: str = "drop",
    half_size_raw: bool = True,
    cache: bool = True,
    progress: bool = True,
) -> Corpus:
    """Build (or load from the cache) the study's training, validation and test sets.

    Parameters
    ----------
    sources : sequence of path or dataset name, optional
        Folders of RAW or ordinary images, searched recursively. Default:
        :func:`default_sources` (BSDS300 train + Train400).
    n_images : int
        Images to draw for training + validation (500, as the dissertation).
    size : int
        Side of the square study images (180, as the dissertation).
    seed : int
        Seeds the random choice and the split.
    val_fraction : float
        Share of the drawn images held out for validation (0.1).
    crop : bool
        Centre-crop to a square before resizing, instead of stretching.
    test_source : path or dataset name
        The test set (BSDS300 test): kept at native size and resized to ``size``.
    categories : CSV path or dict, optional
        File name (or stem) -> category, e.g. RAISE's CSV (first column: file,
        last column: category). Default: each file's source folder name.
    leak_threshold : float
        Correlation of :func:`thumbnail` s above which a training image counts as
        a near-duplicate of a test image (0.5: unrelated photos stay below 0.3,
        re-encoded or slightly cropped copies of a test image score 0.7-1.0).
    on_leak : {"drop", "error"}
        Drop such images (another image of the same category replaces each) or
        refuse to build.
    half_size_raw : bool
        Develop RAW files at half size (they are shrunk to ``size`` anyway).
    cache : bool
        Reuse / write the cache under :func:`comp_lib.config.cache_dir`.
    progress : bool
        Show a progress bar.
    """
    if not 0 <= val_fraction < 1:
        raise ValueError(f"val_fraction must be in [0, 1), got {val_fraction}")
    if n_images < 1 or size < 8:
        raise ValueError(f"need n_images >= 1 and size >= 8, got {n_images}, {size}")
    if on_leak not in ("drop", "error"):
        raise ValueError(f"on_leak must be 'drop' or 'error', got {on_leak!r}")
    source_dirs = [_resolve(s).resolve() for s in (sources or default_sources())]
    test_dir = _resolve(test_source).resolve()
    files = sorted({f.resolve() for s in source_dirs for f in list_images(s, recursive=True)})
    if not files:
        raise FileNotFoundError(f"no image files in {', '.join(map(str, source_dirs))}")
    test_files = list_images(test_dir)
    params = dict(
        version=CORPUS_VERSION,
        sources=[str(s) for s in source_dirs],
        n_images=n_images,
        size=size,
        seed=seed,
        val_fraction=val_fraction,
        crop=crop,
        test_source=str(test_dir),
        categories=categories if isinstance(categories, dict) else str(categories),
        leak_threshold=leak_threshold,
        on_leak=on_leak,
        half_size_raw=half_size_raw,
    )
    extra = [Path(categories)] if isinstance(categories, (str, os.PathLike)) else []
    key = _cache_key(params, _fingerprint(files + test_files + extra))
    folder = cache_dir() / f"corpus-{key[:16]}"
    if cache and (cached := _load_cached(folder, key)) is not None:
        return cached

    start = time.perf_counter()
    rows: list[dict] = []

    def row(path: Path, source: str, category: str, split: str, **kw) -> dict:
        r = dict(path=_relative(path), sha256="", source=source, category=category, split=split,
                 position=-1, height=0, width=0, reason="")  # fmt: skip
        r.update(kw)
        rows.append(r)
        return r

    # the test set first: the leakage guard compares every training image with it
    test_native, test_small, test_names, test_thumbs = [], [], [], []
    for path in tqdm(test_files, desc="test set", disable=not progress):
        try:
            image = read_image(path, half_size_raw=False)
        except ValueError as err:
            row(path, test_dir.name, test_dir.name, "skipped", reason=str(err))
            continue
        small = resize(image, size, crop=crop)
        row(path, test_dir.name, test_dir.name, "test", sha256=sha256_file(path),
            position=len(test_names), height=image.shape[0], width=image.shape[1])  # fmt: skip
        test_native.append(image)
        test_small.append(small)
        test_names.append(path.stem)
        test_thumbs.append(thumbnail(small))
    test_thumbs_arr = np.array(test_thumbs)

    # a seeded, stratified draw: each category's files in a seeded random order, taken
    # until its quota is met; unreadable or leaking files are replaced by the next ones
    cats = _read_categories(categories, files, source_dirs)
    by_cat: dict[str, list[Path]] = {}
    for f, c in zip(files, cats, strict=True):
        by_cat.setdefault(c, []).append(f)
    quota = _allocate({c: len(v) for c, v in by_cat.items()}, n_images)
    rng = np.random.default_rng(seed)
    chosen: dict[str, list[tuple[Path, np.ndarray, dict]]] = {c: [] for c in by_cat}
    bar = tqdm(total=sum(quota.values()), desc="training images", disable=not progress)
    leaks = []
    for c in sorted(by_cat):
        pool = by_cat[c]
        source_of = {f: next(s.name for s in source_dirs if f.is_relative_to(s)) for f in pool}
        for i in rng.permutation(len(pool)):
            f = pool[i]
            if len(chosen[c]) >= quota[c]:
                row(f, source_of[f], c, "unused")
                continue
            try:
                image = read_image(f, half_size_raw=half_size_raw)
            except ValueError as err:
                row(f, source_of[f], c, "skipped", reason=str(err))
                continue
            small = resize(image, size, crop=crop)
            hit = find_leaks(thumbnail(small)[None], test_thumbs_arr, leak_threshold)
            if hit:
                _, j, r = max(hit, key=lambda t: t[2])
                reason = f"near-duplicate of test image {test_names[j]} (r={r:.3f})"
                leaks.append(f"{_relative(f)}: {reason}")
                row(f, source_of[f], c, "dropped", reason=reason)
                continue
            info = row(f, source_of[f], c, "train", sha256=sha256_file(f),
                       height=image.shape[0], width=image.shape[1])  # fmt: skip
            chosen[c].append((f, small, info))
            bar.update()
    bar.close()
    if leaks and on_leak == "error":
        raise ValueError(
            f"{len(leaks)} training image(s) nearly duplicate test images; remove them or use "
            "on_leak='drop':\n  " + "\n  ".join(leaks)
        )
    n_drawn = sum(len(v) for v in chosen.values())
    if n_drawn == 0:
        raise ValueError("no readable training image in the sources")

    # stratified validation split
    n_val = _allocate({c: len(v) for c, v in chosen.items()}, round(val_fraction * n_drawn))
    train, val = [], []
    for c in sorted(chosen):
        order = rng.permutation(len(chosen[c]))
        for k, i in enumerate(order):
            _, small, info = chosen[c][i]
            target = val if k < n_val[c] else train
            info["split"] = "val" if target is val else "train"
            info["position"] = len(target)
            target.append(small)

    def stack(images: list[np.ndarray]) -> np.ndarray:
        return np.stack(images) if images else np.zeros((0, size, size), np.float32)

    params |= dict(
        key=key,
        test_names=test_names,
        n_train=len(train),
        n_val=len(val),
        n_test=len(test_names),
        n_skipped=sum(r["split"] == "skipped" for r in rows),
        n_dropped=len(leaks),
        build_seconds=round(time.perf_counter() - start, 2),
        shortfall=max(0, n_images - n_drawn),
    )
    corpus = Corpus(
        train=stack(train),
        val=stack(val),
        test=stack(test_small),
        test_native=test_native,
        test_names=test_names,
        index=pd.DataFrame(rows),
        params=params,
        path=folder if cache else None,
    )
    if cache:
        _save(corpus, folder)
    return corpus
