"""The Mattermost host adapter: the only package in Envol that imports ``mattermostdriver``.

    from plugin.mattermost import MattermostClient, NotFound
    mm = MattermostClient.from_settings(context.settings)
    team = mm.get_team_by_name("acme")
    results = mm.add_team_members(team["id"], user_ids)   # batched, one result per user

Mattermost objects come back as Mattermost's JSON (``dict[str, Any]``), listings as lists or
iterators, batch outcomes as small frozen dataclasses. Failures raise the errors below, all
subclasses of ``plugin.errors.EnvolError``.
"""

from plugin.interactive import fail_fast_when_unreachable
from plugin.mattermost.client import (
    CHANNEL_BATCH_MAX,
    MARKER_PROP,
    PER_PAGE,
    TEAM_BATCH_MAX,
    MattermostClient,
)
from plugin.mattermost.errors import (
    Conflict,
    FeatureDisabled,
    FeatureNeedsLicense,
    Forbidden,
    Invalid,
    MattermostError,
    MattermostUnavailable,
    NotFound,
    Retryable,
    Unauthorized,
)
from plugin.mattermost.pacing import TokenBucket, shared_pacer
from plugin.mattermost.types import InviteResult, MemberAddResult, ServerLimits

__all__ = [
    "CHANNEL_BATCH_MAX",
    "MARKER_PROP",
    "PER_PAGE",
    "TEAM_BATCH_MAX",
    "Conflict",
    "FeatureDisabled",
    "FeatureNeedsLicense",
    "Forbidden",
    "Invalid",
    "InviteResult",
    "MattermostClient",
    "MattermostError",
    "MattermostUnavailable",
    "MemberAddResult",
    "NotFound",
    "Retryable",
    "ServerLimits",
    "TokenBucket",
    "Unauthorized",
    "fail_fast_when_unreachable",
    "shared_pacer",
]
