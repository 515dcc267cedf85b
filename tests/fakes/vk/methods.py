"""The VK API methods the adapter calls, checked the way VK checks them.

Parameters arrive as strings (query string and urlencoded form, VK's way). What matters to us
is validated: the token and the version, ``random_id`` (required; a repeat in a dialog returns
the message sent before, as VK de-duplicates), text length, the keyboard's shape and limits,
the messages an edit or an event answer names.
"""

from __future__ import annotations

import json
from typing import Any

from tests.fakes.vk.model import Json, StoredMessage, VkError

MAX_TEXT = 4096
MAX_LABEL = 40
MAX_PAYLOAD = 255
# dev.vk.com, "Keyboard": at most 5 buttons a line; in a message (inline) 6 lines and 10
# buttons, under the input field 10 lines and 40 buttons. A snackbar shows 90 characters.
MAX_PER_ROW = 5
MAX_INLINE_ROWS, MAX_INLINE_BUTTONS = 6, 10
MAX_ROWS, MAX_BUTTONS = 10, 40
MAX_SNACKBAR = 90


def integer(params: Json, key: str, *, required: bool = True) -> int | None:
    raw = params.get(key)
    if raw in (None, ""):
        if required:
            raise VkError(100, f"One of the parameters specified was missing or invalid: {key}")
        return None
    try:
        return int(raw)
    except (TypeError, ValueError):
        raise VkError(100, f"{key} not integer") from None


def check_keyboard(raw: str | None) -> Json | None:
    """A keyboard as VK reads it; an inline keyboard of text or callback buttons."""
    if raw is None:
        return None
    try:
        board = json.loads(raw)
    except ValueError:
        raise VkError(911, "Keyboard format is invalid: not JSON") from None
    rows = board.get("buttons") if isinstance(board, dict) else None
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise VkError(911, "Keyboard format is invalid: buttons must be an array of rows")
    inline = bool(board.get("inline"))
    most_rows, most_buttons = (
        (MAX_INLINE_ROWS, MAX_INLINE_BUTTONS) if inline else (MAX_ROWS, MAX_BUTTONS)
    )
    if len(rows) > most_rows:
        raise VkError(911, f"Keyboard format is invalid: more than {most_rows} rows")
    if sum(len(row) for row in rows) > most_buttons:
        raise VkError(911, f"Keyboard format is invalid: more than {most_buttons} buttons")
    if any(len(row) > MAX_PER_ROW for row in rows):
        raise VkError(911, f"Keyboard format is invalid: more than {MAX_PER_ROW} in a row")
    for row in rows:
        for button in row:
            action = button.get("action") if isinstance(button, dict) else None
            if not isinstance(action, dict) or action.get("type") not in ("text", "callback"):
                raise VkError(911, "Keyboard format is invalid: unknown action")
            label = action.get("label")
            if not isinstance(label, str) or not 1 <= len(label) <= MAX_LABEL:
                raise VkError(911, f"Keyboard format is invalid: label {label!r}")
            payload = action.get("payload")
            if payload is not None:
                if not isinstance(payload, str) or len(payload) > MAX_PAYLOAD:
                    raise VkError(911, "Keyboard format is invalid: payload must be a string")
                json.loads(payload)
    return board


class VkMethods:
    """Mixed into FakeVk, which holds the state these methods read and change."""

    group_id: int
    users: dict[int, Any]
    denied: set[int]
    dialogs: dict[int, list[StoredMessage]]
    issued_events: dict[str, tuple[int, int]]
    event_answers: list[Json]
    under_input: dict[int, Json]

    def _new_message(self, peer_id: int, from_id: int, text: str, **kw: Any) -> StoredMessage:
        raise NotImplementedError

    def _longpoll_server(self) -> Json:
        raise NotImplementedError

    def handler(self, method: str) -> Any:
        return {
            "messages.send": self.messages_send,
            "messages.edit": self.messages_edit,
            "messages.sendMessageEventAnswer": self.messages_send_message_event_answer,
            "users.get": self.users_get,
            "groups.getLongPollServer": self.groups_get_long_poll_server,
        }.get(method)

    def messages_send(self, params: Json) -> Any:
        random_id = integer(params, "random_id")
        peers = params.get("peer_ids")
        targets = [int(p) for p in str(peers).split(",")] if peers else None
        if targets is None:
            targets = [integer(params, "peer_id")]
        text = str(params.get("message", ""))
        if not text and not params.get("attachment"):
            raise VkError(100, "message is empty or invalid")
        if len(text) > MAX_TEXT:
            raise VkError(914)
        keyboard = check_keyboard(params.get("keyboard"))
        results = []
        for peer in targets:
            assert peer is not None
            try:
                if peer in self.denied:
                    raise VkError(901)
                message = self._send_once(peer, random_id or 0, text, keyboard)
            except VkError as exc:
                if peers is None:
                    raise
                error = {"code": exc.code, "description": str(exc)}
                results.append({"peer_id": peer, "error": error})
                continue
            results.append(
                {"peer_id": peer, "message_id": message.id, "conversation_message_id": message.cmid}
            )
        return results if peers else results[0]["message_id"]

    def _send_once(
        self, peer: int, random_id: int, text: str, keyboard: Json | None
    ) -> StoredMessage:
        """VK's de-duplication: the same random_id in the same dialog is the same message."""
        if random_id:
            for earlier in self.dialogs.get(peer, []):
                if earlier.random_id == random_id:
                    return earlier
        if keyboard is not None and not keyboard.get("inline"):
            # The keyboard under the input field: it stays until a message brings another
            # (one with no buttons takes it away).
            self.under_input.pop(peer, None)
            if keyboard["buttons"]:
                self.under_input[peer] = keyboard
        return self._new_message(peer, -self.group_id, text, random_id=random_id, keyboard=keyboard)

    def messages_edit(self, params: Json) -> int:
        peer = integer(params, "peer_id")
        cmid = integer(params, "conversation_message_id", required=False)
        found = next(
            (m for m in self.dialogs.get(peer or 0, []) if m.cmid == cmid and cmid is not None),
            None,
        )
        if found is None or found.from_id != -self.group_id:
            raise VkError(100, "message not found or not editable by the community")
        text = str(params.get("message", ""))
        if not text or len(text) > MAX_TEXT:
            raise VkError(100 if not text else 914)
        found.edits.append(found.text)
        found.text = text
        found.keyboard = check_keyboard(params.get("keyboard"))
        return 1

    def messages_send_message_event_answer(self, params: Json) -> int:
        event_id = str(params.get("event_id", ""))
        user, peer = integer(params, "user_id"), integer(params, "peer_id")
        if self.issued_events.get(event_id) != (user, peer):
            raise VkError(100, "event_id is unknown or belongs to another user")
        data = params.get("event_data")
        answer: Json = {"event_id": event_id, "user_id": user, "peer_id": peer}
        if data is not None:
            answer["event_data"] = json.loads(data)
            snackbar = answer["event_data"].get("text")
            if answer["event_data"].get("type") == "show_snackbar" and not (
                isinstance(snackbar, str) and 1 <= len(snackbar) <= MAX_SNACKBAR
            ):
                raise VkError(100, f"event_data.text must be 1-{MAX_SNACKBAR} characters")
        self.event_answers.append(answer)
        return 1

    def users_get(self, params: Json) -> list[Json]:
        ids = [int(i) for i in str(params.get("user_ids", "")).split(",") if i]
        return [self.users[i].to_dict() for i in ids if i in self.users]

    def groups_get_long_poll_server(self, params: Json) -> Json:
        if integer(params, "group_id") != self.group_id:
            raise VkError(100, "group_id is not the token's community")
        return self._longpoll_server()
