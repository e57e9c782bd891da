"""A simulated person using Mattermost: every action is a real HTTP call to the sandbox, as
the web app would make it, so the sandbox then calls the integration as Mattermost would."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import requests

from plugin.jsontypes import JSON

if TYPE_CHECKING:
    from plugin.sandbox.server import Sandbox
    from plugin.sandbox.state import OpenedDialog

# The smallest valid PNG (1×1), for profile pictures.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)


class SandboxCallFailed(RuntimeError):
    """The sandbox answered an error to a simulated user's action."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(
            f"{response.request.method} {response.url} -> "
            f"{response.status_code}: {response.text[:300]}"
        )
        self.response = response
        self.status_code = response.status_code


PERSON_HEADER = "X-Sandbox-Person"


class SimulatedUser:
    def __init__(self, sandbox: Sandbox, user_id: str, token: str) -> None:
        self.sandbox = sandbox
        self.user_id = user_id
        self.token = token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        # People use their own devices: the faults and the rate limit aimed at Envol's
        # connection (``set_faults``, ``set_rate_limit``) do not hit them.
        self.http.headers[PERSON_HEADER] = "1"

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(
            method, f"{self.sandbox.url}/api/v4{path}", timeout=60, **kwargs
        )
        if response.status_code >= 400:
            raise SandboxCallFailed(response)
        return response.json() if "json" in response.headers.get("Content-Type", "") else None

    # ------------------------------------------------------------------ talking

    def post(
        self, channel_id: str, message: str, props: JSON | None = None, root_id: str = ""
    ) -> JSON:
        body: JSON = {"channel_id": channel_id, "message": message}
        if props:
            body["props"] = props
        if root_id:
            body["root_id"] = root_id
        return self._call("POST", "/posts", json=body)

    def reply(self, root_id: str, message: str) -> JSON:
        with self.sandbox.state.lock:
            channel_id = self.sandbox.state.post(root_id)["channel_id"]
        return self.post(channel_id, message, root_id=root_id)

    def react(self, post_id: str, emoji_name: str) -> JSON:
        return self._call(
            "POST",
            "/reactions",
            json={"user_id": self.user_id, "post_id": post_id, "emoji_name": emoji_name},
        )

    def direct_channel_with(self, other_user_id: str) -> JSON:
        return self._call(
            "POST",
            "/channels/direct",
            json=[self.user_id, other_user_id],
        )

    # ------------------------------------------------------------------ profile

    def set_profile_picture(self, image: bytes = TINY_PNG) -> None:
        self._call(
            "POST", f"/users/{self.user_id}/image", files={"image": ("me.png", image, "image/png")}
        )

    def update_profile(self, **fields: Any) -> JSON:
        return self._call(
            "PUT",
            f"/users/{self.user_id}/patch",
            json=fields,
        )

    def join_channel(self, channel_id: str) -> JSON:
        return self._call(
            "POST",
            f"/channels/{channel_id}/members",
            json={"user_id": self.user_id},
        )

    # ------------------------------------------------------------------ integrations

    def run_command(self, channel_id: str, command_line: str, root_id: str = "") -> JSON:
        """Type a slash command, e.g. ``run_command(c, "/support my screen is black")``."""
        body: JSON = {"channel_id": channel_id, "command": command_line}
        if root_id:
            body["root_id"] = root_id
        return self._call("POST", "/commands/execute", json=body)

    def click(self, post_id: str, action_id: str, selected_option: str | None = None) -> JSON:
        """Click a button (or pick ``selected_option`` in a menu) on an interactive post."""
        body: JSON = {}
        if selected_option is not None:
            body["selected_option"] = selected_option
        return self._call(
            "POST",
            f"/posts/{post_id}/actions/{action_id}",
            json=body,
        )

    def find_action(self, post_id: str, name: str) -> str:
        """The id of the action whose button label is ``name`` on this post."""
        with self.sandbox.state.lock:
            post = self.sandbox.state.post(post_id)
            for attachment in post.get("props", {}).get("attachments") or []:
                for action in attachment.get("actions") or []:
                    if action.get("name") == name:
                        return str(action["id"])
        raise LookupError(f"no action named {name!r} on post {post_id}")

    @property
    def last_dialog(self) -> OpenedDialog:
        dialogs = self.sandbox.dialogs_for(self.user_id)
        if not dialogs:
            raise LookupError("no dialog was opened for this user")
        return dialogs[-1]

    def submit_dialog(
        self, submission: JSON, dialog: OpenedDialog | None = None, cancelled: bool = False
    ) -> JSON:
        """Submit the last dialog opened for this user; returns ``{error?, errors?}``."""
        opened = dialog or self.last_dialog
        body = {
            "url": opened.url,
            "callback_id": opened.dialog.get("callback_id", ""),
            "state": opened.dialog.get("state", ""),
            "channel_id": opened.channel_id,
            # The web app sends the team on screen: for a dialog opened from a direct message
            # (whose channel has no team) that is one of the person's teams.
            "team_id": opened.team_id or self._team_on_screen(),
            "submission": {} if cancelled else submission,
            "cancelled": cancelled,
        }
        return self._call(
            "POST",
            "/actions/dialogs/submit",
            json=body,
        )

    def _team_on_screen(self) -> str:
        state = self.sandbox.state
        with state.lock:
            teams = sorted(
                tid for (tid, uid), m in state.team_members.items()
                if uid == self.user_id and not m["delete_at"]
            )  # fmt: skip
        return teams[0] if teams else ""

    def cancel_dialog(self, dialog: OpenedDialog | None = None) -> JSON | None:
        """Close the dialog; the integration hears of it only with ``notify_on_cancel``."""
        opened = dialog or self.last_dialog
        if not opened.dialog.get("notify_on_cancel"):
            return None
        return self.submit_dialog({}, opened, cancelled=True)

    @property
    def ephemeral_messages(self) -> list[JSON]:
        return self.sandbox.ephemeral_for(self.user_id)
