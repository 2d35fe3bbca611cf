"""``python -m comp_lib``: the command line (see :mod:`comp_lib.cli`)."""

from comp_lib.cli import main

raise SystemExit(main())
