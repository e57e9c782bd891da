from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from plugin.errors import ConfigurationError
from plugin.mail.config import SmtpConfig


def test_plain_smtp_url_defaults() -> None:
    config = SmtpConfig.from_url("smtp://127.0.0.1:1025")
    assert (config.host, config.port, config.starttls, config.implicit_tls) == (
        "127.0.0.1",
        1025,
        False,
        False,
    )
    assert config.username is None and config.rate_per_second == 0


def test_starttls_with_login_defaults_to_submission_port_and_decodes_the_password() -> None:
    config = SmtpConfig.from_url("smtp://envol%40corp:p%40ss%3Aword@mail.corp.example?starttls=1")
    assert config.port == 587 and config.starttls
    assert config.username == "envol@corp" and config.password == "p@ss:word"
    assert "p@ss" not in repr(config) and "p@ss" not in config.describe()


def test_smtps_is_implicit_tls_on_465_with_options() -> None:
    config = SmtpConfig.from_url(
        "smtps://u:p@relay.example?rate=12.5&per_connection=50&timeout=5&connections=1"
    )
    assert (config.port, config.implicit_tls, config.rate_per_second) == (465, True, 12.5)
    assert (config.messages_per_connection, config.timeout, config.connections) == (50, 5.0, 1)
    assert SmtpConfig.from_url("smtp://relay.example").connections == 3


@pytest.mark.parametrize(
    ("url", "fragment"),
    [
        ("http://host:25", "smtp:// or smtps://"),
        ("smtp://:25", "no host"),
        ("smtp://user:secret@:587", "no host"),
        ("smtp:// :25", "no host"),
        ("smtp://%20:25", "no host"),
        ("smtp://[::1:25", "cannot be read"),
        ("smtps://host?starttls=1", "already encrypted"),
        ("smtp://host?starttls=maybe", "starttls"),
        ("smtp://host?rate=-1", "rate"),
        ("smtp://host?connections=0", "connections"),
        ("smtp://host?colour=blue", "unknown option"),
        ("smtp://:secret@host", "password but no user"),
        ("smtp://host:99999", "port"),
    ],
)
def test_bad_urls_are_refused_with_the_part_named(url: str, fragment: str) -> None:
    with pytest.raises(ConfigurationError, match=fragment):
        SmtpConfig.from_url(url)


@given(
    user=st.text(min_size=1, max_size=20).filter(lambda s: s.isprintable()),
    password=st.text(min_size=0, max_size=20).filter(lambda s: s.isprintable()),
)
def test_any_credentials_round_trip_through_percent_encoding(user: str, password: str) -> None:
    from urllib.parse import quote

    url = f"smtp://{quote(user, safe='')}:{quote(password, safe='')}@relay.example:2525"
    config = SmtpConfig.from_url(url)
    assert (config.username, config.password, config.port) == (user, password, 2525)
