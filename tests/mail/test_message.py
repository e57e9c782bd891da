from __future__ import annotations

import datetime as dt
import email
import email.policy

import pytest

from plugin.mail.message import (
    Address,
    OutgoingEmail,
    build_email,
    deterministic_message_id,
    email_bytes,
)


def _parse(raw: bytes) -> email.message.EmailMessage:
    return email.message_from_bytes(raw, policy=email.policy.default)  # type: ignore[return-value]


def _outgoing(**overrides) -> OutgoingEmail:  # type: ignore[no-untyped-def]
    values = dict(
        sender=Address("claire.martin@exemple.fr", "Claire Martin-Légère"),
        recipient=Address("zoe@exemple.fr", "Zoé Dupré"),
        subject="Un réseau à découvrir : lancement le 1ᵉʳ mars",
        text="Bonjour Zoé,\n\nÀ très bientôt.",
        html="<p>Bonjour Zoé,</p><p>À très bientôt.</p>",
        message_id=deterministic_message_id("lancement/teaser-1|42", "exemple.fr"),
        date=dt.datetime(2027, 1, 15, 9, 0, tzinfo=dt.UTC),
        language="fr",
    )
    values.update(overrides)
    return OutgoingEmail(**values)  # type: ignore[arg-type]


def test_headers_are_ascii_on_the_wire_and_decode_back_with_accents() -> None:
    raw = build_email(_outgoing()).as_bytes()
    header_block = raw.split(b"\r\n\r\n", 1)[0]
    header_block.decode("ascii")  # RFC 2047 encoded words, no raw 8-bit in headers
    parsed = _parse(raw)
    assert parsed["Subject"] == "Un réseau à découvrir : lancement le 1ᵉʳ mars"
    assert parsed["From"].addresses[0].display_name == "Claire Martin-Légère"
    assert parsed["Date"] == "Fri, 15 Jan 2027 09:00:00 +0000"
    assert parsed["Message-ID"] == deterministic_message_id("lancement/teaser-1|42", "exemple.fr")
    assert parsed["Content-Language"] == "fr"


def test_multipart_alternative_with_text_then_html_in_utf8() -> None:
    parsed = _parse(build_email(_outgoing()).as_bytes())
    assert parsed.get_content_type() == "multipart/alternative"
    parts = list(parsed.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().replace("\r\n", "\n").strip() == "Bonjour Zoé,\n\nÀ très bientôt."
    assert "À très bientôt." in parts[1].get_content()
    assert all(part.get_content_charset() == "utf-8" for part in parts)


def test_mandatory_messages_have_no_list_unsubscribe_and_reply_to_when_given() -> None:
    parsed = _parse(
        build_email(_outgoing(reply_to=Address("manager@exemple.fr", "Léa Manager"))).as_bytes()
    )
    assert parsed["List-Unsubscribe"] is None
    assert parsed["Reply-To"].addresses[0].addr_spec == "manager@exemple.fr"


def test_optional_messages_carry_list_unsubscribe_and_one_click_for_https() -> None:
    parsed = _parse(
        build_email(
            _outgoing(
                mandatory=False,
                unsubscribe_mailto="lancement@exemple.fr?subject=unsubscribe",
                unsubscribe_url="https://envol.exemple.fr/u/abc",
            )
        ).as_bytes()
    )
    assert parsed["List-Unsubscribe"] == (
        "<https://envol.exemple.fr/u/abc>, <mailto:lancement@exemple.fr?subject=unsubscribe>"
    )
    assert parsed["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"


def test_optional_message_without_a_way_to_unsubscribe_is_refused() -> None:
    with pytest.raises(ValueError, match="unsubscribe"):
        build_email(_outgoing(mandatory=False))


def test_message_ids_are_deterministic_per_key_and_distinct_across_keys() -> None:
    first = deterministic_message_id("lancement/teaser-1|1", "exemple.fr")
    assert first == deterministic_message_id("lancement/teaser-1|1", "exemple.fr")
    assert first != deterministic_message_id("lancement/teaser-1|2", "exemple.fr")
    assert first.startswith("<envol.") and first.endswith("@exemple.fr>")


def test_address_parsing_of_the_mail_from_setting() -> None:
    assert Address.parse("Envol <envol@localhost>") == Address("envol@localhost", "Envol")
    with pytest.raises(ValueError):
        Address.parse("not an address")


def test_long_lines_are_encoded_so_no_line_on_the_wire_exceeds_78_characters() -> None:
    html = "<p>" + "Passerelle ouvre le lundi 1er mars, à très bientôt ! " * 20 + "</p>"
    raw = email_bytes(
        _outgoing(html=html, recipient=Address("zoe@exemple.fr", " ".join(["Zoé"] * 30)))
    )
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    parsed = _parse(raw)
    assert list(parsed.iter_parts())[1].get_content().strip() == html
    # Encoded words cut after a space; Python's parser (unlike RFC 2047) keeps the fold too.
    assert parsed["To"].addresses[0].display_name.split() == ["Zoé"] * 30
    long_word = "Zoé" * 40
    raw = email_bytes(_outgoing(recipient=Address("zoe@exemple.fr", long_word)))
    assert max(len(line) for line in raw.split(b"\r\n")) <= 78
    assert "".join(_parse(raw)["To"].addresses[0].display_name.split()) == long_word


def test_a_text_only_message_is_a_single_utf8_part() -> None:
    parsed = _parse(email_bytes(_outgoing(html=None)))
    assert parsed.get_content_type() == "text/plain"
    assert parsed.get_content_charset() == "utf-8"
    assert parsed.get_content().replace("\r\n", "\n").strip() == "Bonjour Zoé,\n\nÀ très bientôt."


def test_a_line_break_in_a_header_is_refused_not_injected() -> None:
    with pytest.raises(ValueError):
        email_bytes(_outgoing(subject="Bonjour\r\nBcc: tout-le-monde@exemple.fr"))
    with pytest.raises(ValueError):
        email_bytes(_outgoing(recipient=Address("zoe@exemple.fr", "Zoé\r\nBcc: x@exemple.fr")))


def test_headers_repeated_across_a_step_are_folded_once(monkeypatch: pytest.MonkeyPatch) -> None:
    folds: list[str] = []
    fold = email.policy.SMTP.fold_binary

    def counting(self: email.policy.EmailPolicy, name: str, value: str) -> bytes:
        folds.append(name)
        return fold(name, value)

    monkeypatch.setattr(type(email.policy.SMTP), "fold_binary", counting)
    subject = "Un sujet propre à ce test : façon unique"
    for number in range(20):
        outgoing = _outgoing(
            subject=subject,
            recipient=Address(f"p{number}@exemple.fr", f"Zoé {number}"),
            message_id=deterministic_message_id(f"fold|{number}", "exemple.fr"),
        )
        parsed = _parse(email_bytes(outgoing))
        assert parsed["To"].addresses[0].display_name == f"Zoé {number}"
        assert parsed["Subject"] == subject
    assert folds.count("Subject") <= 1  # 20 messages of one step: the subject is folded once
