"""A person using Mattermost as its web app does: the public API v4 and the WebSocket, nothing else.

Everything a person does is an HTTP call (``POST /commands/execute``, ``POST
/posts/{id}/actions/{action_id}``, ``POST /actions/dialogs/submit``, posts, reactions, profile),
and everything a person *reads* comes back the same way a real server delivers it:

- the buttons on a post: ``GET /posts/{post_id}``;
- the team on screen: ``GET /users/me/teams``; a channel's team: ``GET /channels/{id}``;
- an opened dialog: the ``open_dialog`` WebSocket event (``data.dialog`` is the OpenDialogRequest
  as a JSON string), matched to the action that opened it by the ``trigger_id`` the command's
  or the button's answer carries;
- an ephemeral post: the ``ephemeral_message`` event (``data.post``, a JSON string). A real
  server keeps no ephemeral post: a person whose app was not connected never sees it;
- a new post in one of the person's channels: the ``posted`` event.

So this module runs against the sandbox or any Mattermost (it imports nothing of
``plugin.sandbox``; ``tests/demo/test_person.py`` checks it). The app (``connect``) opens before
the person runs a command, clicks or submits a dialog, and when they read what it received; it
authenticates with the ``authentication_challenge`` and waits for ``hello``. Posting, reacting
and profile changes need no app: a crowd of people who only post holds no connection open, and
``close_app`` lets one go (the server serves each open app from a thread).

Events arrive on their own thread, so reading them waits deterministically instead of sleeping:
``sync`` sends a ``get_statuses`` request on the socket and waits for its reply. The server
answers a connection's requests after the events it already sent there (its hub sends both,
in order), so once the reply is in, every event published before the person's last HTTP answer
has been received. A dialog is waited for by its trigger id, with a timeout.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import requests
import websocket  # websocket-client

from plugin.jsontypes import JSON

# The smallest valid PNG (1×1), for profile pictures.
TINY_PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360000002000001e221bc330000000049454e44ae426082"
)

# Sent with every call: the sandbox spares people the faults and rate limit it aims at Envol
# (``Sandbox.set_faults``); a real server ignores an unknown header. The sandbox's constant of
# the same name must match (tests/demo/test_person.py).
PERSON_HEADER = "X-Sandbox-Person"

EVENT_TIMEOUT = 10.0  # seconds: an event or a socket reply that takes longer is not coming


class CallFailed(RuntimeError):
    """Mattermost answered an error to a person's action."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(
            f"{response.request.method} {response.url} -> "
            f"{response.status_code}: {response.text[:300]}"
        )
        self.response = response
        self.status_code = response.status_code


class EventStreamError(RuntimeError):
    """The WebSocket did not connect, authenticate or answer in time."""


@dataclass(frozen=True)
class ReceivedDialog:
    """A dialog as the person's app got it, and where the person was when it opened."""

    trigger_id: str
    url: str
    dialog: JSON
    channel_id: str
    team_id: str


@dataclass(frozen=True)
class Screen:
    """What the app shows after a sync: the dialogs opened and the ephemeral posts received
    since it connected, oldest first."""

    dialogs: list[ReceivedDialog]
    ephemeral_messages: list[JSON]


class EventStream:
    """The person's WebSocket: events kept in arrival order, requests answered by ``seq``."""

    def __init__(self, base_url: str, token: str) -> None:
        self._url = base_url.replace("https://", "wss://", 1).replace("http://", "ws://", 1)
        self._url += "/api/v4/websocket"
        self._token = token
        self._socket: websocket.WebSocket | None = None
        self._thread: threading.Thread | None = None
        self._changed = threading.Condition()
        self._events: list[JSON] = []
        self._replies: dict[int, JSON] = {}
        self._next_seq = 1
        self._closed = False

    @property
    def connected(self) -> bool:
        return self._socket is not None and not self._closed

    def connect(self) -> None:
        """Open the socket, answer the authentication challenge, wait for ``hello``. The
        events of an earlier connection are kept: the app's screen still shows them."""
        if self._thread is not None:
            self._thread.join(timeout=EVENT_TIMEOUT)  # the previous connection's reader
        try:
            socket = websocket.create_connection(self._url, timeout=EVENT_TIMEOUT)
        except (OSError, websocket.WebSocketException) as error:
            raise EventStreamError(f"cannot open {self._url}: {error}") from error
        socket.settimeout(None)  # the reader waits as long as the app is open
        with self._changed:
            self._socket, self._closed = socket, False
            self._replies.clear()
            seen = len(self._events)
        self._thread = threading.Thread(
            target=self._read, args=(socket,), name="person-websocket", daemon=True
        )
        self._thread.start()
        reply = self.request("authentication_challenge", {"token": self._token})
        if reply.get("status") != "OK":
            raise EventStreamError(f"authentication refused: {reply}")
        self.wait_for(lambda e: e.get("event") == "hello", "hello", since=seen)

    def request(self, action: str, data: JSON | None = None) -> JSON:
        """Send ``{seq, action, data}`` and wait for the reply with that ``seq_reply``."""
        socket = self._socket
        if socket is None:
            raise EventStreamError("the WebSocket is not connected")
        with self._changed:
            seq = self._next_seq
            self._next_seq += 1
        body: JSON = {"seq": seq, "action": action}
        if data is not None:
            body["data"] = data
        try:
            socket.send(json.dumps(body))
        except (OSError, websocket.WebSocketException) as error:
            raise EventStreamError(f"the WebSocket closed: {error}") from error
        deadline = time.monotonic() + EVENT_TIMEOUT
        with self._changed:
            while seq not in self._replies:
                left = deadline - time.monotonic()
                if self._closed and seq not in self._replies:
                    raise EventStreamError(f"the WebSocket closed before answering {action}")
                if left <= 0:
                    raise EventStreamError(f"no answer to {action} within {EVENT_TIMEOUT:g} s")
                self._changed.wait(left)
            return self._replies.pop(seq)

    def sync(self) -> None:
        """Every event the server sent before now has been received once this returns."""
        self.request("get_statuses")

    def events(self, name: str) -> list[JSON]:
        with self._changed:
            return [e for e in self._events if e.get("event") == name]

    def wait_for(self, matches: Callable[[JSON], bool], what: str, since: int = 0) -> JSON:
        """The first event from the ``since``-th on that ``matches``, waiting for it."""
        deadline = time.monotonic() + EVENT_TIMEOUT
        with self._changed:
            while True:
                for event in self._events[since:]:
                    if matches(event):
                        return event
                left = deadline - time.monotonic()
                if self._closed or left <= 0:
                    raise EventStreamError(f"no {what} event within {EVENT_TIMEOUT:g} s")
                self._changed.wait(left)

    def wait_closed(self) -> None:
        """Until the connection has ended (the server closed it, or ``close``)."""
        if self._thread is not None:
            self._thread.join(timeout=EVENT_TIMEOUT)

    def close(self) -> None:
        socket, self._socket = self._socket, None
        # Forgotten once joined: the demo closes every person's app after each step, and most
        # of them were never opened or are already closed.
        thread, self._thread = self._thread, None
        if socket is not None:
            with contextlib.suppress(OSError, websocket.WebSocketException):
                socket.send_close()
            socket.abort()  # wakes the reader, which then ends
        if thread is not None:
            thread.join(timeout=EVENT_TIMEOUT)
        if socket is not None:
            socket.shutdown()  # websocket-client leaves it open once a close frame came in

    def _read(self, socket: websocket.WebSocket) -> None:
        try:
            while True:
                raw = socket.recv()
                if not raw:
                    break
                message = json.loads(raw)
                with self._changed:
                    if isinstance(message, dict) and "seq_reply" in message:
                        self._replies[int(message["seq_reply"])] = message
                    elif isinstance(message, dict) and "event" in message:
                        self._events.append(message)
                    self._changed.notify_all()
        except (OSError, ValueError, websocket.WebSocketException):
            pass  # closed (by either side) or garbled: the app is gone
        finally:
            socket.shutdown()  # closes the socket, whichever side ended the connection
            with self._changed:
                self._closed = True
                self._changed.notify_all()


class AppUser:
    """Someone using Mattermost with a session token, through ``base_url``'s API and WebSocket."""

    def __init__(self, base_url: str, user_id: str, token: str) -> None:
        self.base_url = base_url.rstrip("/")
        self.user_id = user_id
        self.token = token
        self.http = requests.Session()
        self.http.headers["Authorization"] = f"Bearer {token}"
        self.http.headers[PERSON_HEADER] = "1"
        self.app = EventStream(self.base_url, token)
        # What the person's screen knows without asking again: where each action happened.
        self._trigger_places: dict[str, tuple[str, str]] = {}  # trigger -> ("channel"|"post", id)
        self._post_channels: dict[str, str] = {}
        self._channel_teams: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"AppUser({self.user_id!r})"

    def connect(self) -> None:
        """Open the app (the WebSocket) if it is not open yet."""
        if not self.app.connected:
            self.app.connect()

    def close(self) -> None:
        self.app.close()
        self.http.close()

    def close_app(self) -> None:
        """Close the app (the WebSocket) until the next integration or reading: each open
        app holds a connection, and a thread, on the server."""
        self.app.close()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self.http.request(method, f"{self.base_url}/api/v4{path}", timeout=60, **kwargs)
        if response.status_code >= 400:
            raise CallFailed(response)
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
        return self.post(self.channel_of_post(root_id), message, root_id=root_id)

    def react(self, post_id: str, emoji_name: str) -> JSON:
        return self._call(
            "POST",
            "/reactions",
            json={"user_id": self.user_id, "post_id": post_id, "emoji_name": emoji_name},
        )

    def direct_channel_with(self, other_user_id: str) -> JSON:
        return self._call("POST", "/channels/direct", json=[self.user_id, other_user_id])

    # ------------------------------------------------------------------ reading

    def get_post(self, post_id: str) -> JSON:
        post: JSON = self._call("GET", f"/posts/{post_id}")
        self._post_channels[post_id] = str(post["channel_id"])
        return post

    def channel_posts(self, channel_id: str, per_page: int = 60) -> list[JSON]:
        """The channel's newest posts as the person scrolls to them, oldest first."""
        listed = self._call(
            "GET", f"/channels/{channel_id}/posts", params={"page": 0, "per_page": per_page}
        )
        # Oldest first by create_at, ties in the answer's order, as Envol's adapter reads them
        # (plugin/mattermost/client.py ``_ordered_posts``).
        posts = [listed["posts"][post_id] for post_id in listed["order"]]
        posts.sort(key=lambda post: post.get("create_at", 0))
        for post in posts:
            self._post_channels[str(post["id"])] = channel_id
        return posts

    def channel_of_post(self, post_id: str) -> str:
        if post_id not in self._post_channels:
            self.get_post(post_id)
        return self._post_channels[post_id]

    def is_member_of(self, channel_id: str) -> bool:
        """``GET /channels/{id}/members/me``: 404 (not a member) or 403 (cannot read it)."""
        try:
            self._call("GET", f"/channels/{channel_id}/members/me")
        except CallFailed as error:
            if error.status_code in (403, 404):
                return False
            raise
        return True

    def team_of_channel(self, channel_id: str) -> str:
        """The channel's team; empty for a direct or group message."""
        if channel_id not in self._channel_teams:
            channel = self._call("GET", f"/channels/{channel_id}")
            self._channel_teams[channel_id] = str(channel.get("team_id") or "")
        return self._channel_teams[channel_id]

    def team_on_screen(self) -> str:
        """The team the web app shows when the channel has none (a direct message): one of the
        person's teams, the same one each time."""
        teams = self._call("GET", "/users/me/teams") or []
        ids = sorted(str(t["id"]) for t in teams if not t.get("delete_at"))
        return ids[0] if ids else ""

    # ------------------------------------------------------------------ profile

    def set_profile_picture(self, image: bytes = TINY_PNG) -> None:
        self._call(
            "POST", f"/users/{self.user_id}/image", files={"image": ("me.png", image, "image/png")}
        )

    def update_profile(self, **fields: Any) -> JSON:
        return self._call("PUT", f"/users/{self.user_id}/patch", json=fields)

    def join_channel(self, channel_id: str) -> JSON:
        return self._call("POST", f"/channels/{channel_id}/members", json={"user_id": self.user_id})

    # ------------------------------------------------------------------ integrations

    def run_command(self, channel_id: str, command_line: str, root_id: str = "") -> JSON:
        """Type a slash command, e.g. ``run_command(c, "/support my screen is black")``."""
        body: JSON = {"channel_id": channel_id, "command": command_line}
        if root_id:
            body["root_id"] = root_id
        self.connect()  # the app is open before the person acts: no answer is missed
        answer: JSON = self._call("POST", "/commands/execute", json=body)
        self._remember_trigger(answer, ("channel", channel_id))
        return answer

    def click(self, post_id: str, action_id: str, selected_option: str | None = None) -> JSON:
        """Click a button (or pick ``selected_option`` in a menu) on an interactive post."""
        body: JSON = {}
        if selected_option is not None:
            body["selected_option"] = selected_option
        self.connect()
        answer: JSON = self._call("POST", f"/posts/{post_id}/actions/{action_id}", json=body)
        self._remember_trigger(answer, ("post", post_id))
        return answer

    def _remember_trigger(self, answer: Any, place: tuple[str, str]) -> None:
        """The answer's trigger id names the dialog this action may open; the screen knows
        where the action was (a post's channel is looked up only if a dialog needs it)."""
        trigger_id = answer.get("trigger_id") if isinstance(answer, dict) else None
        if isinstance(trigger_id, str) and trigger_id:
            self._trigger_places[trigger_id] = place

    def find_action(self, post_id: str, name: str) -> str:
        """The id of the action whose button label is ``name`` on this post, as shown now."""
        post = self.get_post(post_id)
        for attachment in post.get("props", {}).get("attachments") or []:
            for action in attachment.get("actions") or []:
                if action.get("name") == name:
                    return str(action["id"])
        raise LookupError(f"no action named {name!r} on post {post_id}")

    @property
    def dialogs(self) -> list[ReceivedDialog]:
        """Every dialog opened for this person since the app connected, oldest first."""
        return self.screen().dialogs

    def screen(self) -> Screen:
        """The dialogs and ephemeral posts the app received so far, after one ``sync``: what
        a person looks at after an action (each property alone costs a round trip)."""
        self.connect()
        self.app.sync()
        return Screen(
            [self._received(e) for e in self.app.events("open_dialog")],
            [json.loads(e["data"]["post"]) for e in self.app.events("ephemeral_message")],
        )

    @property
    def last_dialog(self) -> ReceivedDialog:
        dialogs = self.dialogs
        if not dialogs:
            raise LookupError("no dialog was opened for this user")
        return dialogs[-1]

    def wait_for_dialog(self, trigger_id: str) -> ReceivedDialog:
        """The dialog opened with this trigger (from a command's or a button's answer)."""
        event = self.app.wait_for(
            lambda e: (
                e.get("event") == "open_dialog"
                and json.loads(e["data"]["dialog"]).get("trigger_id") == trigger_id
            ),
            "open_dialog",
        )
        return self._received(event)

    def _received(self, event: JSON) -> ReceivedDialog:
        request = json.loads(event["data"]["dialog"])
        trigger_id = str(request.get("trigger_id", ""))
        kind, where = self._trigger_places.get(trigger_id, ("channel", ""))
        channel_id = self.channel_of_post(where) if kind == "post" else where
        return ReceivedDialog(
            trigger_id=trigger_id,
            url=str(request.get("url", "")),
            dialog=request.get("dialog") or {},
            channel_id=channel_id,
            team_id=self.team_of_channel(channel_id) if channel_id else "",
        )

    def submit_dialog(
        self, submission: JSON, dialog: ReceivedDialog | None = None, cancelled: bool = False
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
            "team_id": opened.team_id or self.team_on_screen(),
            "submission": {} if cancelled else submission,
            "cancelled": cancelled,
        }
        self.connect()
        return self._call("POST", "/actions/dialogs/submit", json=body)

    def cancel_dialog(self, dialog: ReceivedDialog | None = None) -> JSON | None:
        """Close the dialog; the integration hears of it only with ``notify_on_cancel``."""
        opened = dialog or self.last_dialog
        if not opened.dialog.get("notify_on_cancel"):
            return None
        return self.submit_dialog({}, opened, cancelled=True)

    @property
    def posts_received(self) -> list[JSON]:
        """The posts of the person's channels that reached the app (``posted``), oldest first."""
        self.connect()
        self.app.sync()
        return [json.loads(e["data"]["post"]) for e in self.app.events("posted")]

    @property
    def ephemeral_messages(self) -> list[JSON]:
        """The ephemeral posts this person's app received, oldest first."""
        return self.screen().ephemeral_messages
