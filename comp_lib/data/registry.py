"""Every dataset the study reads, in one place: its folder, its name for people, and where
its files come from.

Each dataset lives in its own folder under the data folder
(:func:`comp_lib.config.data_dir`, ``$COMP_LIB_DATA``). :data:`DATASETS` names them
(``dataset_dir("kodak")``). Each names its :class:`Download` in :data:`DOWNLOADS`: the
public source of its files (an official server, or a public repository pinned to a
commit, with each file's path), the sha256 manifest they are checked against
(``comp_lib/data/manifests``), the folders it fills (one BSDS300 archive fills
``bsds300_test`` and ``bsds300_train``), its size, terms and citation.
:mod:`comp_lib.data.download` fetches them; :mod:`comp_lib.data.preflight` fetches what
a run of the notebooks needs before the first one starts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from comp_lib.config import data_dir

__all__ = ["DATASETS", "DOWNLOADS", "Dataset", "Download", "dataset_dir", "dataset_title"]


@dataclass(frozen=True)
class Dataset:
    """One dataset the study reads.

    Attributes
    ----------
    name : str
        The key used everywhere (``load_dataset_gray(name)``, notebook parameters).
    folder : str
        Its folder under the data folder.
    title : str
        Its name for people (figure titles, the report's tables).
    download : str or None
        The key of the :data:`DOWNLOADS` entry that fills the folder; ``None``
        where no download is known (the copy in the data folder is the source).
        Every dataset of the study has one.
    """

    name: str
    folder: str
    title: str
    download: str | None = None


#: The datasets, by name.
DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset("bsds300_test", "bsds300_test", "BSDS300 test", "bsds300"),
        Dataset("bsds300_train", "bsds300_train", "BSDS300 train", "bsds300"),
        Dataset("kodak", "kodak", "Kodak", "kodak"),
        Dataset("set5", "set5", "Set5", "set5"),
        Dataset("set14", "set14", "Set14", "set14"),
        Dataset("train400", "train400_gray180", "Train400", "train400"),
        Dataset("raw", "raw", "camera RAWs", "raw"),
    )
}


def dataset_title(name: str) -> str:
    """The name of dataset ``name`` for people (``"bsds300_test"`` -> ``"BSDS300 test"``);
    a name the registry does not know is returned as it is."""
    entry = DATASETS.get(name)
    return entry.title if entry else name


def dataset_dir(name: str) -> Path:
    """Return the folder of one dataset, with a clear error when it is missing.

    Parameters
    ----------
    name : str
        A key of :data:`DATASETS` (e.g. ``"bsds300_test"``) or a folder name.
    """
    entry = DATASETS.get(name)
    folder = data_dir() / (entry.folder if entry else name)
    if not folder.is_dir():
        fetch = (
            f"; `python -m comp_lib.data fetch {entry.download}` downloads it"
            if entry and entry.download
            else ""
        )
        raise FileNotFoundError(
            f"dataset {name!r} not found at {folder}; set COMP_LIB_DATA to the folder "
            f"that holds the datasets (known: {', '.join(sorted(DATASETS))}){fetch}"
        )
    return folder


_DNCNN = "https://raw.githubusercontent.com/cszn/DnCNN/e93b27812d3ff523a3a79d19e5e50d233d7a8d0a"
_SET5 = ("baby_GT", "bird_GT", "butterfly_GT", "head_GT", "woman_GT")
_SET14 = ("baboon", "barbara", "bridge", "coastguard", "comic", "face", "flowers", "foreman",
          "lenna", "man", "monarch", "pepper", "ppt3", "zebra")  # fmt: skip
_BSDS_TERMS = "free for non-commercial research and educational purposes (Berkeley BSDS page)"
_NO_LICENCE = "no licence stated; widely redistributed as a research benchmark"


@dataclass(frozen=True)
class Download:
    """Where a dataset's files come from, how to check them, and on what terms.

    Attributes
    ----------
    name : str
        Its key in :data:`DOWNLOADS` (``python -m comp_lib.data fetch <name>``).
    urls : tuple of str
        The official URL of each remote file: one archive, or one URL per file (a public
        repository's files are pinned to a commit). A mirror (``COMP_LIB_MIRROR``) holds
        them as ``<mirror>/<name>/<file name>`` (:attr:`files`).
    manifest : str
        File name of the sha256 manifest in ``comp_lib/data/manifests`` (paths relative
        to the data folder).
    folders : tuple of str
        Folders, relative to the data folder, that the download fills.
    size : int
        Bytes of the files it installs (the sum over its manifest; an archive's download
        is about as large, since JPEGs do not compress).
    terms : str
        The licence or terms of use, in one line.
    citation : str
        What to cite when the dataset is used.
    archive_members : dict
        For an archive: local path (relative to the data folder) prefix -> member-name
        prefix inside the archive. Exact paths win over folder prefixes (those end in
        ``/``). Empty for file-by-file downloads, where each file keeps its remote name
        inside ``folders[0]``.
    """

    name: str
    urls: tuple[str, ...]
    manifest: str
    folders: tuple[str, ...]
    size: int
    terms: str
    citation: str
    archive_members: dict[str, str] = field(default_factory=dict)

    @property
    def files(self) -> tuple[str, ...]:
        """The remote file names (the last part of each URL)."""
        return tuple(url.rsplit("/", 1)[-1] for url in self.urls)

    @property
    def is_archive(self) -> bool:
        """True when the dataset comes as one tar archive."""
        return bool(self.archive_members)

    def member_name(self, relpath: str) -> str:
        """Return the archive member that holds the local file ``relpath``."""
        if relpath in self.archive_members:
            return self.archive_members[relpath]
        folder, _, fname = relpath.rpartition("/")
        return self.archive_members[folder + "/"] + fname


#: The downloads :func:`comp_lib.data.download.fetch` knows, by name.
DOWNLOADS: dict[str, Download] = {
    "bsds300": Download(
        name="bsds300",
        urls=(
            "https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds/BSDS300-images.tgz",
        ),  # fmt: skip
        manifest="bsds300.sha256",
        folders=("bsds300_test", "bsds300_train"),
        size=22_247_893,
        terms=_BSDS_TERMS,
        citation="D. Martin, C. Fowlkes, D. Tal, J. Malik, A Database of Human Segmented "
        "Natural Images and its Application to Evaluating Segmentation Algorithms and "
        "Measuring Ecological Statistics, ICCV 2001",
        archive_members={
            "bsds300_test/iids_test.txt": "BSDS300/iids_test.txt",
            "bsds300_test/": "BSDS300/images/test/",
            "bsds300_train/": "BSDS300/images/train/",
        },
    ),
    "kodak": Download(
        name="kodak",
        urls=tuple(f"http://r0k.us/graphics/kodak/kodak/kodim{i:02d}.png" for i in range(1, 25)),
        manifest="kodak.sha256",
        folders=("kodak",),
        size=15_394_305,
        terms="released by Eastman Kodak Company for unrestricted usage (r0k.us)",
        citation="Kodak Lossless True Color Image Suite (PhotoCD PCD0992), "
        "http://r0k.us/graphics/kodak/",
    ),
    "set5": Download(
        name="set5",
        urls=tuple(f"{_DNCNN}/testsets/Set5/{n}.bmp" for n in _SET5),
        manifest="set5.sha256",
        folders=("set5",),
        size=1_702_706,
        terms=_NO_LICENCE,
        citation="M. Bevilacqua, A. Roumy, C. Guillemot, M.-L. Alberi Morel, Low-Complexity "
        "Single-Image Super-Resolution based on Nonnegative Neighbor Embedding, BMVC 2012",
    ),
    "set14": Download(
        name="set14",
        urls=tuple(f"{_DNCNN}/testsets/Set14/{n}.bmp" for n in _SET14),
        manifest="set14.sha256",
        folders=("set14",),
        size=9_148_174,
        terms=_NO_LICENCE,
        citation="R. Zeyde, M. Elad, M. Protter, On Single Image Scale-Up Using "
        "Sparse-Representations, Curves and Surfaces 2010",
    ),
    "train400": Download(
        name="train400",
        urls=tuple(
            f"{_DNCNN}/TrainingCodes/DnCNN_TrainingCodes_v1.0/data/Train400/test_{i:03d}.png"
            for i in range(1, 401)
        ),  # fmt: skip
        manifest="train400.sha256",
        folders=("train400_gray180",),
        size=8_242_575,
        terms=f"drawn from BSDS500: {_BSDS_TERMS}",
        citation="K. Zhang, W. Zuo, Y. Chen, D. Meng, L. Zhang, Beyond a Gaussian Denoiser: "
        "Residual Learning of Deep CNN for Image Denoising (DnCNN), IEEE TIP 2017",
    ),
    "raw": Download(
        name="raw",
        urls=(
            "https://raw.githubusercontent.com/imageio/test_images/"
            "f676c96b1af7e04bb1eed1e4551e058eb2f14acd/Blackmagic.dng",
            "https://raw.githubusercontent.com/boostorg/gil/"
            "50e0b5bd8f67a9c503a4ea98adfec6052e079cfd/test/extension/io/images/raw/"
            "RAW_CANON_D30_SRGB.CRW",
        ),
        manifest="raw.sha256",
        folders=("raw",),
        size=6_480_426,
        terms="test files of imageio/test_images (no licence stated) and boostorg/gil "
        "(from rawsamples.ch); test data only",
        citation="imageio/test_images and boostorg/gil test images",
    ),
}
