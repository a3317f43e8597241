"""``python -m obstore``: the ``obstore`` command line (``obstore.cli``)."""

from obstore.cli import main

raise SystemExit(main())
