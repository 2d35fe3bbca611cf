"""Data: the dataset registry, reading images, the study's corpus, downloads.

::

    registry   every dataset: its folder, its name for people, its download (public source,
               sha256 manifest, size, terms, citation)
    images     RAW and ordinary files to grayscale; files for the codec (load_image)
    corpus     the seeded, stratified, cached training corpus; native tiles; held-out images
    preparation  what squaring and graying the images costs (notebook 00's numbers)
    download   fetch (resumable) and verify downloads against the shipped sha256 manifests
    preflight  ensure: every dataset a run needs, present and intact or fetched, before
               the first notebook; one clear message when it cannot

``python -m comp_lib.data fetch`` downloads them all; see :mod:`comp_lib.data.__main__`.
"""

from comp_lib.data.corpus import (
    CORPUS_DATASETS,
    CORPUS_VERSION,
    Corpus,
    absolute_path,
    build_corpus,
    default_sources,
    find_leaks,
    holdout_images,
    native_tiles,
)
from comp_lib.data.images import (
    ALPHA_POLICIES,
    IMAGE_SUFFIXES,
    LUMA,
    RAW_SUFFIXES,
    list_images,
    load_dataset_gray,
    load_gray,
    load_image,
    read_image,
    read_raw_rgb,
    resize,
    thumbnail,
)
from comp_lib.data.registry import (
    DATASETS,
    DOWNLOADS,
    Dataset,
    Download,
    dataset_dir,
    dataset_title,
)

__all__ = [
    "ALPHA_POLICIES",
    "CORPUS_DATASETS",
    "CORPUS_VERSION",
    "DATASETS",
    "DOWNLOADS",
    "IMAGE_SUFFIXES",
    "LUMA",
    "RAW_SUFFIXES",
    "Corpus",
    "Dataset",
    "Download",
    "absolute_path",
    "build_corpus",
    "dataset_dir",
    "dataset_title",
    "default_sources",
    "find_leaks",
    "holdout_images",
    "list_images",
    "load_dataset_gray",
    "load_gray",
    "load_image",
    "native_tiles",
    "read_image",
    "read_raw_rgb",
    "resize",
    "thumbnail",
]
