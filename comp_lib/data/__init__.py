"""Data: the dataset registry, reading images, the study's corpus, downloads.

::

    registry   every dataset: its folder and, where known, its download (server, manifest)
    images     RAW and ordinary files to grayscale; files for the codec (load_image)
    corpus     the seeded, stratified, cached training corpus; native tiles; held-out images
    download   fetch and verify downloads against the shipped sha256 manifests

``python -m comp_lib.data fetch bsds300 kodak`` downloads; see :mod:`comp_lib.data.__main__`.
"""

from comp_lib.data.corpus import (
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
    DatasetSpec,
    dataset_dir,
    dataset_title,
)

__all__ = [
    "ALPHA_POLICIES",
    "CORPUS_VERSION",
    "DATASETS",
    "DOWNLOADS",
    "IMAGE_SUFFIXES",
    "LUMA",
    "RAW_SUFFIXES",
    "Corpus",
    "Dataset",
    "DatasetSpec",
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
