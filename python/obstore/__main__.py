"""``python -m obstore``: the ``obstore`` command line (``obstore.cli``)."""

from obstore.cli import main

# Only when run: importing the module (mypy's stubtest does) must not start the command.
if __name__ == "__main__":
    raise SystemExit(main())
