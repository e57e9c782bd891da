"""The person of the demo can use any Mattermost: nothing of the sandbox comes with it."""

from __future__ import annotations

import subprocess
import sys

from plugin.demo import person
from plugin.sandbox import server


def test_the_person_module_imports_nothing_from_the_sandbox() -> None:
    # A fresh interpreter: in this one, other tests have imported the sandbox already.
    probe = (
        "import sys, plugin.demo.person; "
        "print(sorted(m for m in sys.modules if m.startswith('plugin.sandbox')))"
    )
    found = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=60
    )
    assert found.stdout.strip() == "[]"


def test_the_person_header_is_the_one_the_sandbox_spares() -> None:
    assert person.PERSON_HEADER == server.PERSON_HEADER
