"""What the demo reads of an e-mail: the plain text, else the HTML, with ``\\n`` line ends."""

from __future__ import annotations

from email.message import EmailMessage
from email.mime.text import MIMEText

from plugin.demo.mail_catcher import body_text


def test_the_plain_part_comes_first_with_newline_line_ends() -> None:
    message = EmailMessage()
    message.set_content("Bonjour Amélie,\r\nvotre place vous attend.\r\n")
    message.add_alternative("<p>Bonjour Amélie</p>", subtype="html")

    assert body_text(message) == "Bonjour Amélie,\nvotre place vous attend.\n"


def test_an_html_only_message_and_a_legacy_one_are_read() -> None:
    html = EmailMessage()
    html.set_content("<p>Rejoignez-nous</p>", subtype="html")
    legacy = MIMEText("Hello\r\nworld", "plain", "utf-8")

    assert body_text(html) == "<p>Rejoignez-nous</p>\n"
    assert body_text(legacy) == "Hello\nworld"


def test_a_message_is_read_once() -> None:
    message = EmailMessage()
    message.set_content("Lien : https://chat.exemple.fr/signup_user_complete/?id=abc")

    first = body_text(message)
    message.set_content("changed after it was read")  # the demo never changes a caught e-mail

    assert body_text(message) is first
