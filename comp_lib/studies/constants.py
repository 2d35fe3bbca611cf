"""Every number the study takes from the dissertation or from Jiang et al., defined once.

The dissertation compared its model with JPEG on BSDS300 at 180x180 and reported no
rate; Jiang et al. (TCSVT 2018, Tables I-II) compared their framework with JPEG at
quality 5 and 10 on Set5 and Set14. The study's own reporting choices (the anchor, the
fixed rates of the tables, the highest rate of the BD integrals) are here too, as the
defaults of :mod:`comp_lib.studies.protocols` and :mod:`comp_lib.studies.ablations`;
``tests/test_studies_protocols.py`` checks that notebook 03's parameter defaults equal
them and that no other module of ``comp_lib`` types the dissertation's figures again.
"""

from __future__ import annotations

__all__ = [
    "ANCHOR",
    "CROPS_RATE",
    "DISSERTATION_JPEG",
    "DISSERTATION_MODEL",
    "FIXED_RATES",
    "MAX_RATE",
    "PAPER_DATASETS",
    "PAPER_JPEG_QUALITIES",
]

#: the dissertation's reported figures for its model on BSDS300 at 180x180 (no bpp reported)
DISSERTATION_MODEL = {"psnr": 24.0, "ssim": 0.74}
#: the dissertation's reported figures for JPEG on the same images (no bpp, no quality)
DISSERTATION_JPEG = {"psnr": 32.75, "ssim": 0.88}

#: the JPEG qualities of Jiang et al.'s comparison at equal rate (Tables I-II)
PAPER_JPEG_QUALITIES = (5, 10)
#: the test sets of that comparison
PAPER_DATASETS = ("set5", "set14")

#: the codec every other one is compared with (BD-rates, gains at equal bpp)
ANCHOR = "JPEG"
#: the rates (bpp) at which the tables read PSNR and SSIM off each curve
FIXED_RATES = (0.1, 0.2, 0.3, 0.5)
#: BD-rates and BD-PSNRs integrate over rates up to this (bpp)
MAX_RATE = 0.6
#: the rate (bpp) near which notebook 03 shows every codec's output on one image
CROPS_RATE = 0.3
