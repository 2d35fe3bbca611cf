"""The study's experiments as tested library code.

::

    constants   every figure of the dissertation and of Jiang et al. the study uses, once
    roster      the codecs of the evaluation (notebook 03), "ours" read from its models' rows
    protocols   the evaluation's three protocols: standard, the dissertation's, the paper's;
                the BD-rate per image, crops at matched rates (a package, one module each)
    ablations   the ablations of notebook 04: definitions (variants around one budget),
                runs (trained once, tested against JPEG), results (tables for people)
"""
