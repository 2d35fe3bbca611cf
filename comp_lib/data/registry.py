"""Every dataset the study reads, in one place: its folder, and where it can be downloaded.

Each dataset lives in its own folder under the data folder
(:func:`comp_lib.config.data_dir`, ``$COMP_LIB_DATA``). :data:`DATASETS` names
them (``dataset_dir("kodak")``); a dataset that can be fetched names its
*download* in :data:`DOWNLOADS`: the official server, the files, the sha256
manifest (``comp_lib/data/manifests``) and the folders it fills (one BSDS300
archive fills ``bsds300_test`` and ``bsds300_train``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from comp_lib.config import data_dir

__all__ = ["DATASETS", "DOWNLOADS", "Dataset", "DatasetSpec", "dataset_dir", "dataset_title"]


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
        Dataset("set5", "set5", "Set5"),
        Dataset("set14", "set14", "Set14"),
        Dataset("train400", "train400_gray180", "Train400"),
        Dataset("raw", "raw", "camera RAWs"),
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


@dataclass(frozen=True)
class DatasetSpec:
    """Where a downloadable dataset comes from and where it goes.

    Attributes
    ----------
    name : str
        Dataset name used by :func:`fetch` and the command line.
    official_base : str
        URL prefix of the official server; each of ``files`` is fetched as
        ``<official_base>/<file>`` (or ``<base_url>/<file>`` for a mirror).
    files : tuple of str
        Remote file names: the archive, or one name per image.
    manifest : str
        File name of the sha256 manifest in ``comp_lib/data/manifests``.
    folders : tuple of str
        Folders, relative to the data folder, that the dataset fills.
    archive_members : dict
        For an archive: local path (relative to the data folder) prefix ->
        member-name prefix inside the archive. Exact paths win over folder
        prefixes (those end in ``/``). Empty for plain file downloads, where
        each file keeps its name inside ``folders[0]``.
    """

    name: str
    official_base: str
    files: tuple[str, ...]
    manifest: str
    folders: tuple[str, ...]
    archive_members: dict[str, str] = field(default_factory=dict)

    @property
    def urls(self) -> tuple[str, ...]:
        """Official download URLs."""
        return tuple(f"{self.official_base}/{f}" for f in self.files)

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
DOWNLOADS: dict[str, DatasetSpec] = {
    "bsds300": DatasetSpec(
        name="bsds300",
        official_base="https://www2.eecs.berkeley.edu/Research/Projects/CS/vision/bsds",
        files=("BSDS300-images.tgz",),
        manifest="bsds300.sha256",
        folders=("bsds300_test", "bsds300_train"),
        archive_members={
            "bsds300_test/iids_test.txt": "BSDS300/iids_test.txt",
            "bsds300_test/": "BSDS300/images/test/",
            "bsds300_train/": "BSDS300/images/train/",
        },
    ),
    "kodak": DatasetSpec(
        name="kodak",
        official_base="http://r0k.us/graphics/kodak/kodak",
        files=tuple(f"kodim{i:02d}.png" for i in range(1, 25)),
        manifest="kodak.sha256",
        folders=("kodak",),
    ),
}
