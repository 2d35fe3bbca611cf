"""The study's experiments as tested library code.

::

    ablations   the ablations of notebook 04: variants, training runs at one budget, tables
"""
