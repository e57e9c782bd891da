"""Sending e-mail over SMTP, for every capability (campaigns, invitations, reports).

``SmtpConfig.from_url`` reads ``ENVOL_SMTP_URL``; ``build_email`` makes a proper multipart
message; ``SmtpMailer`` sends over one reused, paced connection and turns every SMTP or socket
error into a ``MailFailure`` that says whether a retry can help.
"""

from plugin.mail.config import SmtpConfig
from plugin.mail.errors import MailFailure, MailSendError, classify_smtp_error
from plugin.mail.message import Address, OutgoingEmail, build_email, deterministic_message_id
from plugin.mail.sender import SmtpMailer

__all__ = [
    "Address",
    "MailFailure",
    "MailSendError",
    "OutgoingEmail",
    "SmtpConfig",
    "SmtpMailer",
    "build_email",
    "classify_smtp_error",
    "deterministic_message_id",
]
