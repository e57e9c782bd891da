"""Where the files that ship beside the code are: plugin.json, migrations/, seed_content/.

The repository keeps them at its top level (that is where an admin and a launch team look for
them). A wheel cannot install top-level folders into site-packages without polluting it, so the
build copies them into ``plugin/_content/`` (``setup.py``); a source checkout or an editable
install reads them in place. Everything that opens one of these files starts from
``CONTENT_ROOT``.
"""

from __future__ import annotations

from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_BUNDLED = _PACKAGE / "_content"

#: The folder holding ``plugin.json``, ``migrations/`` and ``seed_content/``.
CONTENT_ROOT = _BUNDLED if (_BUNDLED / "plugin.json").is_file() else _PACKAGE.parent

#: What the build copies into the wheel (setup.py reads this list).
SHIPPED = ("plugin.json", "migrations", "seed_content")
