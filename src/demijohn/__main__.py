"""``python -m demijohn``: the same as the ``demijohn`` command."""

from .cli import main

main()
