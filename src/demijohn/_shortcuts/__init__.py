"""Every place demijohn reaches into another library's private internals.

One module per library: :mod:`.werkzeug`, :mod:`.asyncio`, :mod:`.json`
(the standard library's C encoder) and :mod:`.cpython` (the interpreter's
own markers). They are imported only by
what uses them, so the WSGI path never loads :mod:`asyncio` through here.

Each function in them does what a public API does, for less, by touching
names the library does not promise to keep. Nothing else in demijohn
touches those names: when a library changes, its module here is the one
to read. For each shortcut the docstring says

* **reproduces**: the public behaviour it stands in for;
* **proof**: the test that compares the two, so an upgrade that breaks the
  equivalence fails the suite rather than a user's request;
* **checked**: the versions the equivalence was verified against (the
  dependency bounds in ``pyproject.toml`` keep installs within them).

Callers still guard each shortcut with
:func:`~demijohn._overrides.overrides` where a subclass could change the
behaviour being reproduced.
"""

from __future__ import annotations
