"""Posts, threads, pins, ephemeral posts, files, reactions, the brand image."""

from __future__ import annotations

import copy
import mimetypes

from werkzeug.wrappers import Response

from plugin.jsontypes import JSON
from plugin.sandbox.core import AppError, forbidden, invalid_body_param, not_found, now_ms
from plugin.sandbox.routing import Call, Result, route, status_ok

POST_PATCH_FIELDS = ("message", "props", "file_ids", "is_pinned", "has_reactions")


def post_for_client(post: JSON) -> JSON:
    """What a client receives: action integrations (URL and context) are stripped, as the
    server does, so nothing above the adapter can rely on reading them back."""
    shown = copy.deepcopy(post)
    for attachment in shown.get("props", {}).get("attachments") or []:
        for action in attachment.get("actions") or []:
            action.pop("integration", None)
    return shown


def post_list(posts: list[JSON]) -> JSON:
    return {
        "order": [p["id"] for p in posts],
        "posts": {p["id"]: post_for_client(p) for p in posts},
        "next_post_id": "",
        "prev_post_id": "",
        "has_next": False,
    }


def _check_post_body(body: JSON) -> None:
    if not isinstance(body.get("channel_id"), str):
        raise invalid_body_param("channel_id")
    if not isinstance(body.get("message", ""), str):
        raise invalid_body_param("message")
    if not isinstance(body.get("props", {}), dict):
        raise invalid_body_param("props")


@route("POST", "/api/v4/posts")
def create_post(call: Call) -> Result:
    body = call.json_object()
    _check_post_body(body)
    call.require_channel_member(body["channel_id"])
    post = call.state.create_post(
        user_id=call.user_id,
        channel_id=body["channel_id"],
        message=body.get("message", ""),
        root_id=str(body.get("root_id", "")),
        props=body.get("props"),
        file_ids=body.get("file_ids"),
    )
    call.sandbox.publish_posted(post)
    return 201, post_for_client(post)


@route("POST", "/api/v4/posts/ephemeral")
def create_ephemeral(call: Call) -> Result:
    call.require_admin("create_post_ephemeral")
    body = call.json_object()
    post = body.get("post")
    if not isinstance(body.get("user_id"), str) or not isinstance(post, dict):
        raise invalid_body_param("ephemeral_post")
    _check_post_body(post)
    return 201, call.sandbox.send_ephemeral(
        user_id=body["user_id"],
        channel_id=post["channel_id"],
        message=post.get("message", ""),
        props=post.get("props"),
        sender_id=call.user_id,
    )


@route("GET", "/api/v4/posts/<post_id>")
def get_post(call: Call) -> Result:
    post = call.state.post(call.params["post_id"])
    call.require_channel_read(post["channel_id"])
    return 200, post_for_client(post)


def _editable_post(call: Call) -> JSON:
    post = call.state.post(call.params["post_id"])
    call.require_channel_read(post["channel_id"])
    if post["user_id"] != call.user_id and not call.is_admin:
        raise forbidden("edit_others_posts")
    return post


def _apply_post_changes(post: JSON, changes: JSON) -> None:
    if "message" in changes and changes["message"] != post["message"]:
        if not isinstance(changes["message"], str):
            raise invalid_body_param("message")
        post["edit_at"] = now_ms()
    for key in POST_PATCH_FIELDS:
        if key in changes:
            post[key] = copy.deepcopy(changes[key])
    post["update_at"] = now_ms()


@route("PUT", "/api/v4/posts/<post_id>")
def update_post(call: Call) -> Result:
    post = _editable_post(call)
    body = call.json_object()
    if body.get("id", post["id"]) != post["id"]:
        raise invalid_body_param("id")
    _apply_post_changes(
        post, {k: v for k, v in body.items() if k in ("message", "props", "file_ids")}
    )
    return 200, post_for_client(post)


@route("PUT", "/api/v4/posts/<post_id>/patch")
def patch_post(call: Call) -> Result:
    post = _editable_post(call)
    _apply_post_changes(post, call.json_object())
    return 200, post_for_client(post)


@route("DELETE", "/api/v4/posts/<post_id>")
def delete_post(call: Call) -> Result:
    post = _editable_post(call)
    stamp = now_ms()
    for other in call.state.posts.values():
        if other["id"] == post["id"] or other["root_id"] == post["id"]:
            other["delete_at"] = other["update_at"] = stamp
    return status_ok()


@route("GET", "/api/v4/posts/<post_id>/thread")
def get_thread(call: Call) -> Result:
    post = call.state.post(call.params["post_id"])
    call.require_channel_read(post["channel_id"])
    root_id = post["root_id"] or post["id"]
    thread = sorted(
        (
            p
            for p in call.state.posts.values()
            if (p["id"] == root_id or p["root_id"] == root_id) and not p["delete_at"]
        ),
        key=lambda p: p["create_at"],
    )
    return 200, post_list(thread)


@route("GET", "/api/v4/channels/<channel_id>/posts")
def channel_posts(call: Call) -> Result:
    channel = call.require_channel_read(call.params["channel_id"])
    page, per_page = call.page()
    since = call.int_arg("since", 0)
    posts = sorted(
        (
            p
            for p in call.state.posts_of_channel(channel["id"])
            if not p["delete_at"] and (not since or p["update_at"] > since)
        ),
        key=lambda p: p["create_at"],
        reverse=True,
    )
    if not since:
        posts = posts[page * per_page : (page + 1) * per_page]
    return 200, post_list(posts)


@route("GET", "/api/v4/channels/<channel_id>/pinned")
def pinned_posts(call: Call) -> Result:
    channel = call.require_channel_read(call.params["channel_id"])
    # The store reads pinned, non-deleted posts ORDER BY CreateAt ASC: oldest first.
    pinned = sorted(
        (
            p
            for p in call.state.posts_of_channel(channel["id"])
            if p["is_pinned"] and not p["delete_at"]
        ),
        key=lambda p: p["create_at"],
    )
    return 200, post_list(pinned)


def _pin(call: Call, pinned: bool) -> Result:
    post = call.state.post(call.params["post_id"])
    call.require_channel_member(post["channel_id"], "read_channel")
    post["is_pinned"] = pinned
    post["update_at"] = now_ms()
    return status_ok()


@route("POST", "/api/v4/posts/<post_id>/pin")
def pin_post(call: Call) -> Result:
    return _pin(call, True)


@route("POST", "/api/v4/posts/<post_id>/unpin")
def unpin_post(call: Call) -> Result:
    return _pin(call, False)


# ---------------------------------------------------------------------------------- files


@route("POST", "/api/v4/files")
def upload_files(call: Call) -> Result:
    state = call.state
    if not state.setting("FileSettings", "EnableFileAttachments"):
        raise AppError(
            501,
            "api.file.attachments.disabled.app_error",
            "File attachments have been disabled on this server.",
        )
    channel_id = call.request.form.get("channel_id") or call.arg("channel_id")
    if not channel_id:
        raise AppError(
            400, "api.context.invalid_param.app_error", "Invalid or missing channel_id parameter."
        )
    call.require_channel_member(channel_id, "upload_file")
    uploads = call.request.files.getlist("files")
    if not uploads:
        raise AppError(
            400,
            "api.file.upload_file.incorrect_number_of_files.app_error",
            "Unable to upload files. Incorrect number of files specified.",
        )
    limit = int(state.setting("FileSettings", "MaxFileSize") or 0)
    infos = []
    for upload in uploads:
        content = upload.read()
        if limit and len(content) > limit:
            raise AppError(
                413,
                "api.file.upload_file.too_large_detailed.app_error",
                f"Unable to upload file {upload.filename}. File is too large.",
            )
        name = upload.filename or "file"
        stamp = now_ms()
        info: JSON = {
            "id": state.ids.new_id(),
            "user_id": call.user_id,
            "post_id": "",
            "channel_id": channel_id,
            "create_at": stamp,
            "update_at": stamp,
            "delete_at": 0,
            "name": name,
            "extension": name.rsplit(".", 1)[-1].lower() if "." in name else "",
            "size": len(content),
            "mime_type": upload.mimetype
            or mimetypes.guess_type(name)[0]
            or "application/octet-stream",
            "width": 0,
            "height": 0,
            "has_preview_image": False,
        }
        state.files[info["id"]] = info
        state.file_contents[info["id"]] = content
        infos.append(info)
    return 201, {"file_infos": infos, "client_ids": call.request.form.getlist("client_ids")}


@route("GET", "/api/v4/files/<file_id>")
def get_file(call: Call) -> Result:
    """``getFile``: the file's bytes, for whoever may read its channel."""
    info = call.state.files.get(call.params["file_id"])
    if info is None:
        raise not_found("file", "app.file_info.get.app_error")
    if info["user_id"] != call.user_id:
        call.require_channel_read(info["channel_id"])
    content = call.state.file_contents.get(info["id"], b"")
    return Response(content, 200, content_type=info.get("mime_type") or "application/octet-stream")


@route("GET", "/api/v4/files/<file_id>/info")
def file_info(call: Call) -> Result:
    info = call.state.files.get(call.params["file_id"])
    if info is None:
        raise not_found("file", "app.file_info.get.app_error")
    if info["user_id"] != call.user_id:
        call.require_channel_read(info["channel_id"])
    return 200, info


# ---------------------------------------------------------------------------------- reactions


@route("POST", "/api/v4/reactions")
def add_reaction(call: Call) -> Result:
    body = call.json_object()
    for key in ("user_id", "post_id", "emoji_name"):
        if not isinstance(body.get(key), str) or not body[key]:
            raise invalid_body_param(key)
    if body["user_id"] != call.user_id:
        raise forbidden("add_reaction")
    return 201, call.sandbox.react(
        call.user_id, body["post_id"], body["emoji_name"], check_access=not call.is_admin
    )


@route("GET", "/api/v4/posts/<post_id>/reactions")
def list_reactions(call: Call) -> Result:
    post = call.state.post(call.params["post_id"])
    call.require_channel_read(post["channel_id"])
    return 200, [r for r in call.state.reactions.values() if r["post_id"] == post["id"]]


@route("DELETE", "/api/v4/users/<user_id>/posts/<post_id>/reactions/<emoji_name>")
def remove_reaction(call: Call) -> Result:
    user_id = call.user_param()
    call.require_self_or_admin(user_id, "remove_others_reactions")
    post = call.state.post(call.params["post_id"])
    removed = call.state.reactions.pop((user_id, post["id"], call.params["emoji_name"]), None)
    if removed is not None:
        post["has_reactions"] = any(
            r["post_id"] == post["id"] for r in call.state.reactions.values()
        )
        post["update_at"] = now_ms()
    return status_ok()


# ---------------------------------------------------------------------------------- brand


@route("POST", "/api/v4/brand/image")
def upload_brand_image(call: Call) -> Result:
    call.require_admin()
    upload = call.request.files.get("image")
    if upload is None:
        raise AppError(
            400,
            "api.admin.upload_brand_image.no_file.app_error",
            "No file under 'image' in request.",
        )
    content = upload.read()
    limit = int(call.state.setting("FileSettings", "MaxFileSize") or 0)
    if limit and len(content) > limit:
        raise AppError(
            413,
            "api.admin.upload_brand_image.too_large.app_error",
            "Unable to upload file. File is too large.",
        )
    call.state.brand_image = content
    return 201, {"status": "OK"}


@route("GET", "/api/v4/brand/image", auth=False)
def get_brand_image(call: Call) -> Result:
    if call.state.brand_image is None:
        raise AppError(
            404, "app.brand.get_brand_image.not_found.app_error", "Unable to find the brand image."
        )
    return Response(call.state.brand_image, 200, content_type="image/png")
