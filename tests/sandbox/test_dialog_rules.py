"""Mattermost's ``Dialog.IsValid`` in the sandbox: the rules, lengths in UTF-8 bytes as Go counts
them, and an invalid dialog failing the test that opened it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
import requests

from plugin.sandbox import Sandbox
from plugin.sandbox.dialogs import dialog_problems, go_len
from plugin.sandbox.state import Trigger

PROJECT = Path(__file__).resolve().parents[2]


def _dialog(**changes: Any) -> dict[str, Any]:
    dialog: dict[str, Any] = {
        "callback_id": "c",
        "title": "Ask for help",
        "elements": [{"display_name": "Topic", "name": "topic", "type": "text"}],
    }
    dialog.update(changes)
    return dialog


def _element(**fields: Any) -> dict[str, Any]:
    return _dialog(elements=[{"display_name": "Topic", "name": "topic", "type": "text", **fields}])


def test_a_valid_dialog_has_no_problem() -> None:
    assert dialog_problems(_dialog()) == []


def test_lengths_are_utf8_bytes_like_go() -> None:
    assert go_len("é") == 2 and go_len("e") == 1
    assert dialog_problems(_dialog(title="e" * 24)) == []
    # 12 characters, 24 bytes: fits; 13 characters, 25 bytes: does not.
    assert dialog_problems(_dialog(title="é" * 12)) == []
    [problem] = dialog_problems(_dialog(title="é" * 12 + "e"))
    assert "title cannot be longer than 24 bytes, got 25" in problem
    [problem] = dialog_problems(_dialog(title="Questionnaire de lancement"))
    assert "got 26" in problem


@pytest.mark.parametrize(
    ("element", "expected"),
    [
        ({"display_name": ""}, "display_name cannot be empty"),
        ({"display_name": "Catégorie de la demande?"}, "display_name cannot be longer than 24"),
        ({"name": ""}, "name cannot be empty"),
        ({"help_text": "é" * 76}, "help_text cannot be longer than 150 bytes, got 152"),
        ({"default": "a" * 151}, "default cannot be longer than 150 bytes"),
        ({"placeholder": "a" * 151}, "placeholder cannot be longer than 150 bytes"),
        ({"type": "textarea", "default": "é" * 1501}, "default cannot be longer than 3000"),
        ({"subtype": "date"}, "invalid subtype"),
        ({"min_length": 5}, "min_length 5 is greater than max_length 0"),
        ({"min_length": -1, "max_length": 3}, "min_length cannot be negative"),
        ({"max_length": 10, "default": "a" * 11}, "more than its max_length 10"),
        ({"type": "checkbox"}, "invalid element type 'checkbox'"),
        ({"type": "bool", "default": "yes"}, "a bool's default is 'true' or 'false'"),
        ({"multiselect": True}, "multiselect is only for select elements"),
        (
            {"type": "select", "options": [{"text": "A", "value": "a"}], "default": "b"},
            "default 'b' is not among the options",
        ),
        (
            {"type": "radio", "options": [{"text": "A", "value": "a"}], "default": "b"},
            "default 'b' is not among the options",
        ),
        ({"type": "select", "data_source": "teams"}, "invalid data_source 'teams'"),
    ],
)
def test_each_element_rule(element: dict[str, Any], expected: str) -> None:
    problems = dialog_problems(_element(**element))
    assert any(expected in p for p in problems), problems


def test_accepted_shapes() -> None:
    assert dialog_problems(_element(type="textarea", default="é" * 1500, max_length=3000)) == []
    assert dialog_problems(_element(type="bool", default="true")) == []
    assert dialog_problems(_element(type="select", data_source="users")) == []
    assert dialog_problems(_element(subtype="email", placeholder="you@example.com")) == []
    options = [{"text": "A", "value": "a"}, {"text": "B", "value": "b"}]
    assert dialog_problems(_element(type="select", options=options, default="b")) == []
    assert dialog_problems(_element(type="radio", options=options)) == []


def test_duplicate_names_and_icon_url() -> None:
    element = {"display_name": "Topic", "name": "topic", "type": "text"}
    problems = dialog_problems(_dialog(elements=[element, element], icon_url="ftp://x"))
    assert "duplicate dialog element 'topic'" in problems
    assert "invalid icon_url 'ftp://x'" in problems


def _open(sandbox: Sandbox, dialog: dict[str, Any]) -> requests.Response:
    trigger_id = sandbox.state.ids.new_id() * 2
    with sandbox.state.lock:
        sandbox.state.triggers[trigger_id] = Trigger(sandbox.admin_user_id, "", "", 1e18)
    return requests.post(
        f"{sandbox.url}/api/v4/actions/dialogs/open",
        headers={"Authorization": f"Bearer {sandbox.admin_token}"},
        json={"trigger_id": trigger_id, "url": "http://127.0.0.1:9/d", "dialog": dialog},
        timeout=10,
    )


def test_an_invalid_dialog_still_opens_and_is_recorded(sandbox: Sandbox) -> None:
    """Like the server: logged, still opened; the sandbox keeps what is wrong."""
    response = _open(sandbox, _dialog(title="Questionnaire de lancement"))
    assert response.status_code == 200
    assert sandbox.dialogs_for(sandbox.admin_user_id)[-1].dialog["title"].startswith("Quest")
    report = sandbox.invalid_dialog_report()
    assert "title cannot be longer than 24 bytes, got 26" in report
    assert "help_text" in report  # what to do about it
    assert sandbox.take_invalid_dialogs() == []  # the report took them


def test_a_field_of_the_wrong_json_type_is_a_400(sandbox: Sandbox) -> None:
    response = _open(sandbox, _dialog(elements=[{"name": "n", "max_length": "10"}]))
    assert response.status_code == 400
    assert response.json()["id"] == "api.context.invalid_param.app_error"


def test_a_test_that_opens_an_invalid_dialog_fails(tmp_path: Path) -> None:
    test_file = tmp_path / "test_opens_a_long_title.py"
    test_file.write_text(
        textwrap.dedent("""
        import requests
        from plugin.sandbox.state import Trigger

        def test_opens(sandbox):
            with sandbox.state.lock:
                sandbox.state.triggers["t" * 52] = Trigger(sandbox.admin_user_id, "", "", 1e18)
            answer = requests.post(
                sandbox.url + "/api/v4/actions/dialogs/open", timeout=5,
                headers={"Authorization": "Bearer " + sandbox.admin_token},
                json={"trigger_id": "t" * 52, "url": "http://127.0.0.1:9/d",
                      "dialog": {"callback_id": "c", "title": "Questionnaire de lancement",
                                 "elements": []}})
            assert answer.status_code == 200
    """)
    )
    result = subprocess.run(
        [
            sys.executable, "-m", "pytest", str(test_file), "-p", "tests.helpers.sandbox",
            "-c", str(PROJECT / "pyproject.toml"), "--rootdir", str(tmp_path), "-q",
            "-p", "no:cacheprovider",
        ],
        cwd=PROJECT, capture_output=True, text=True, timeout=120,
        env={**os.environ, "PYTHONPATH": str(PROJECT)},
    )  # fmt: skip
    assert result.returncode == 1, result.stdout + result.stderr
    assert "1 failed" in result.stdout
    assert "broke Mattermost's Dialog.IsValid" in result.stdout
    assert "title cannot be longer than 24 bytes" in result.stdout
