"""The evaluation's three protocols (notebook 03), from the rows of :mod:`comp_lib.evaluate`.

::

    standard       the standard protocol's tables, CompressAI's JSON, the answer per test set
    per_image      the BD-rate of each image, and why it differs from the mean curves'
    crops          every codec's output on one image at one matched rate
    dissertation   the dissertation's protocol: its images, its JPEG setting, its table
    paper          Jiang et al.'s protocol: JPEG at quality 5 and 10 against ours

1. **The standard one** (:func:`standard_tables`): per test set, every codec's mean
   rate-distortion curve, its BD-rates and BD-PSNR against JPEG up to ``max_rate``
   (:func:`comp_lib.rd.bd_table`), BD-PSNR over the one range all codecs cover
   (:func:`comp_lib.rd.common_range_table`) and PSNR/SSIM at fixed rates
   (:func:`comp_lib.rd.at_rates`); the curves in CompressAI's JSON shape
   (:func:`write_compressai`). Beside it, the BD-rate of each image
   (:func:`bd_per_image_tables`), why the two differ (:func:`setting_spread`: one codec,
   its settings spread two ways), where the paper's framework stops beating the
   post-filter (:func:`crossing_table`), every codec's output at one matched rate
   (:func:`matched_crops`) and the answer per test set (:func:`headline_table`).
2. **The dissertation's** (:func:`dissertation_table`): BSDS300 test at 180x180
   (:func:`dissertation_images`). It reported its model at 24 dB / SSIM 0.74 and JPEG at
   32.75 dB / 0.88 with no rate; the lowest JPEG quality whose mean PSNR here reaches
   32.75 dB (:func:`dissertation_jpeg_match`, the study's one definition, which notebook
   04 uses too) gives the rate its JPEG ran at, and ours is read at that rate.
3. **The paper's** (:func:`paper_table`): JPEG at quality 5 and 10 against ours at
   JPEG's bpp on Set5 and Set14 (Jiang et al., Tables I-II).

Every "quality at a rate" is :func:`comp_lib.rd.psnr_at_rate` (linear in log-rate, NaN
outside the curve); the constants are :mod:`comp_lib.studies.constants`'. The notebooks
show and write these tables for people with :mod:`comp_lib.report.numbers` (rounded, no
``nan``).
"""

from comp_lib.studies.protocols.crops import (
    MatchedCrops,
    codec_panels,
    matched_crops,
    setting_near_rate,
    setting_range,
)
from comp_lib.studies.protocols.dissertation import (
    dissertation_images,
    dissertation_jpeg_match,
    dissertation_rows,
    dissertation_table,
)
from comp_lib.studies.protocols.paper import paper_table
from comp_lib.studies.protocols.per_image import (
    JPEG2000AtPSNR,
    bd_per_image_tables,
    setting_spread,
)
from comp_lib.studies.protocols.standard import (
    StandardTables,
    crossing_table,
    headline_table,
    standard_tables,
    write_compressai,
)

__all__ = [
    "JPEG2000AtPSNR",
    "MatchedCrops",
    "StandardTables",
    "bd_per_image_tables",
    "codec_panels",
    "crossing_table",
    "dissertation_images",
    "dissertation_jpeg_match",
    "dissertation_rows",
    "dissertation_table",
    "headline_table",
    "matched_crops",
    "paper_table",
    "setting_near_rate",
    "setting_range",
    "setting_spread",
    "standard_tables",
    "write_compressai",
]
