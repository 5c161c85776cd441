"""``python -m guard`` runs the ``guard`` command line."""

from guard.cli import main

main()
