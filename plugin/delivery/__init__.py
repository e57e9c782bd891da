"""Delivery: how every capability sends something once, whatever crashes, redeliveries or
duplicate beats happen. It sits below the capabilities, beside ``plugin.mattermost`` and
``plugin.mail``, and imports none of them.

* ``leases``: claiming due rows under a lease (``claim_due``, ``leased_batch``), keeping and
  giving it back (``still_mine``, ``update_held``, ``release``), and the lease every worker
  bounds its timeouts by (``lease_duration``, ``client_limits``, ``smtp_within``).
* ``outbox``: the protocol of one send keyed by a natural idempotency key, and the guarantee it
  gives per message kind (read its docstring first).
* ``posts``: direct messages and posts from the bot, once per key (``send_dm_once``,
  ``post_once``).
* ``journal``: the journal of e-mails the relay accepted, and ``JournalledMailer``, which
  writes to it the moment the relay answers 250.
* ``mail_pool``: ``JournalledMailPool``, the same on several SMTP connections at once, each
  acceptance journalled (group commit) before its connection sends again.
* ``backoff``: the one rule for waiting before the next try.
* ``models``: ``OutboundMessage`` (the outbox) and ``AcceptedMessage`` (the journal).

Who uses what: invitations (leases, outbox, journal, backoff), onboarding (leases, posts,
backoff), the launch campaign (leases on its own columns, journal, mail pool, backoff; its
guarantee is written in ``plugin.campaigns.dispatcher``), surveys (posts) and support (posts).
"""
