"""State and records of the VK emulator: calls, the conversation history and the long-poll event log.

The API methods live in ``vk_methods.py``, the simulated people in ``vk_user.py`` and the HTTP side
in ``emulator.py``.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import time
from dataclasses import dataclass, field
from typing import Any

from bot.sandbox.vk import objects as vo
from bot.sandbox.vk.spec import error_description

DAY = 24 * 3600
CHAT_PEER_START = 2_000_000_000
MAX_TEXT = 4096


@dataclass
class VkCall:
    method: str
    params: dict[str, str]
    error: int | None = None
    at: float = field(default_factory=time.monotonic)  # when it came, for rate-limit checks


@dataclass
class VkMessage:
    """A message in a dialog with the community, the bot's or a simulated user's.

    ``reply_to`` is the ``message_id`` of the message replied to (for the bot's messages, as sent in
    ``reply_to`` or ``forward``); ``keyboard`` is the parsed JSON; ``text``, ``keyboard`` and
    ``attachment`` follow later edits.  ``payload`` and ``attachments`` (objects) are set on users'
    messages only.
    """

    peer_id: int
    cmid: int
    message_id: int
    text: str
    keyboard: dict[str, Any] | None = None
    random_id: int = 0
    attachment: str | None = None
    reply_to: int | None = None
    deleted: bool = False
    edited: bool = False
    from_bot: bool = True
    date: int = 0
    payload: str | None = None
    attachments: list[dict[str, Any]] = field(default_factory=list)
    from_id: int = 0  # the writer of a user's message (in a conversation, one of its members)

    def buttons(self) -> list[dict[str, Any]]:
        return vo.buttons(self.keyboard)


class VkApiError(Exception):
    """An API error answer: ``error_code`` and VK's ``error_msg`` (with a detail after a colon)."""

    def __init__(self, code: int, detail: str = "") -> None:
        self.code = code
        message = error_description(code)
        self.message = f"{message}: {detail}" if detail else message
        super().__init__(self.message)


@dataclass
class _Event:
    ts: int
    body: dict[str, Any]


class VkState:
    def __init__(self, *, token: str, group_id: int) -> None:
        self.token = token
        self.group_id = group_id
        self.url = ""
        self.calls: list[VkCall] = []
        self.spec_errors: list[str] = []
        # Problems of the emulator itself (a request it could not make sense of), kept apart.
        self.emulator_errors: list[str] = []
        self.history: dict[int, list[VkMessage]] = {}
        # VkEmulator narrows this to VkUser: naming it here would make state and user import each other.
        self.users: dict[int, Any] = {}
        # Conversations by peer_id (chats.VkChat; named here as Any for the same reason as users).
        self.chats: dict[int, Any] = {}
        self.blocked: set[int] = set()
        # event_id -> the event as first pushed; a repeated event keeps its id.
        self.events: dict[str, dict[str, Any]] = {}
        # Query strings of every long-poll request, for tests of the client's retry behaviour.
        self.lp_requests: list[dict[str, str]] = []
        # Echo the bot's own messages as ``message_reply`` events, like a community whose long-poll
        # settings enable "outgoing messages"; the bot must ignore them.
        self.echo_replies = False
        # Answer a blocked peer of ``messages.send(peer_ids=...)`` with a per-item error inside the
        # response list (as VK's schema allows) instead of a top-level error 901.
        self.per_peer_errors = False
        # peer -> 943 (this intent may not be used for them now) or 944 (its limit is spent).
        self.intent_refused: dict[int, int] = {}
        self.known_attachments: dict[str, str | None] = {}
        # The bytes of files users sent, by attachment ref, when a test or the sandbox gave them.
        self.user_files: dict[str, bytes] = {}
        self._log: list[_Event] = []
        self._next_ts = 1
        self._delivered_upto = 0
        self._message_ids = itertools.count(1)
        self._versions = itertools.count(1_000_001)
        self._item_ids = itertools.count(457_239_017)
        self._cmids: dict[int, int] = {}
        self._marks: dict[int, int] = {}
        self._pending_events: dict[str, tuple[int, int]] = {}
        self._lp_keys: set[str] = set()
        # Keys invalidated by fail_longpoll(2 or 3) -> the ``failed`` code they keep answering.
        self._dead_keys: dict[str, int] = {}
        self._by_random_id: dict[tuple[int, int], VkMessage] = {}
        self._answered_events: set[str] = set()
        self._wake = asyncio.Event()
        self._stopping = asyncio.Event()

    # -- the conversation -------------------------------------------------------------------------

    def _add_message(self, msg: VkMessage) -> VkMessage:
        self.history.setdefault(msg.peer_id, []).append(msg)
        return msg

    def _next_cmid(self, peer_id: int) -> int:
        self._cmids[peer_id] = self._cmids.get(peer_id, 0) + 1
        return self._cmids[peer_id]

    def _new_ids(self, peer_id: int) -> tuple[int, int]:
        return next(self._message_ids), self._next_cmid(peer_id)

    def _check_peer(self, peer: int) -> None:
        if peer > CHAT_PEER_START and peer not in self.chats:
            raise VkApiError(917)  # "You don't have access to this chat": the community is not in it

    def find(self, peer_id: int, *, cmid: int | None = None, message_id: int | None = None) -> VkMessage:
        for msg in self.history.get(peer_id, []):
            if (cmid is not None and msg.cmid == cmid) or (
                message_id is not None and msg.message_id == message_id
            ):
                return msg
        raise LookupError(f"no message cmid={cmid} message_id={message_id} in dialog {peer_id}")

    def sent_to(self, peer_id: int) -> list[VkMessage]:
        """The bot's messages to ``peer_id`` in order, deleted ones included (flagged)."""
        return [m for m in self.history.get(peer_id, []) if m.from_bot]

    def last_sent(self, peer_id: int) -> VkMessage:
        """The bot's latest message to ``peer_id`` that the user can still see."""
        visible = [m for m in self.sent_to(peer_id) if not m.deleted]
        if not visible:
            raise AssertionError(f"the bot sent nothing (still visible) to {peer_id}\n{self.dump()}")
        return visible[-1]

    def _mark(self, peer_id: int) -> None:
        """Start counting new bot messages for :meth:`wait_sent` from now."""
        self._marks[peer_id] = len(self.sent_to(peer_id))

    def age_message(self, peer_id: int, cmid: int, hours: float) -> None:
        self.find(peer_id, cmid=cmid).date -= int(hours * 3600)

    def set_blocked(self, user_id: int, blocked: bool = True) -> None:
        if blocked:
            self.blocked.add(user_id)
        else:
            self.blocked.discard(user_id)

    def _client_info(self, peer_id: int) -> dict[str, Any] | None:
        user = self.users.get(peer_id)
        return None if user is None else user.client_info

    def _new_item_id(self) -> int:
        return next(self._item_ids)

    def _remember_attachment(self, obj: dict[str, Any]) -> dict[str, Any]:
        ref, key = vo.attachment_ref(obj)
        self.known_attachments[ref] = key
        return obj

    # -- the long-poll event log ------------------------------------------------------------------

    def push_event(self, event_type: str, obj: dict[str, Any]) -> str:
        """Queue a raw Bots Long Poll event; returns its event_id."""
        event = vo.wrap_event(event_type, copy.deepcopy(obj), self.group_id)
        if event_type == "message_event":
            self._pending_events[str(obj["event_id"])] = (int(obj["user_id"]), int(obj["peer_id"]))
        elif event_type in ("message_deny", "message_allow"):
            self.set_blocked(int(obj["user_id"]), event_type == "message_deny")
        self.events[event["event_id"]] = copy.deepcopy(event)
        self._append(event)
        return str(event["event_id"])

    def repeat_event(self, event_id: str) -> None:
        """Deliver an already pushed event again, with the same event_id, as VK sometimes does."""
        if event_id not in self.events:
            raise AssertionError(f"event {event_id} was never pushed")
        self._append(copy.deepcopy(self.events[event_id]))

    def _append(self, event: dict[str, Any]) -> None:
        self._log.append(_Event(self._next_ts, event))
        self._next_ts += 1
        # Wake every pending long poll: they all hold the old event object.
        self._wake.set()
        self._wake = asyncio.Event()

    def _resume_ts(self) -> int:
        """The ts handed out by ``groups.getLongPollServer``: the first event never delivered.

        VK keeps events for a while; so a poller that starts late, or refetches the server after
        ``failed`` 3, still gets what it never saw, and a test never races the bot's startup.
        """
        return self._delivered_upto + 1

    def _events_from(self, ts: int) -> list[_Event]:
        return [e for e in self._log if e.ts >= ts]

    def unanswered_events(self) -> list[str]:
        """event_ids (of ``message_event`` objects) the bot never answered: the button still spins."""
        return [e for e in self._pending_events if e not in self._answered_events]

    async def _sleep(self, seconds: float) -> None:
        """Sleep that ends early on stop(), so a server shutdown never waits for a long poll."""
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._stopping.wait(), seconds)

    def dump(self, last: int = 20) -> str:
        lines = [f"last {min(last, len(self.calls))} of {len(self.calls)} API calls:"]
        for call in self.calls[-last:]:
            shown = {k: v for k, v in call.params.items() if k not in ("access_token", "v")}
            status = f" -> error {call.error}" if call.error else ""
            lines.append(f"  {call.method} {str(shown)[:300]}{status}")
        lines.append(f"long poll: {len(self.lp_requests)} request(s), {len(self._log)} event(s) pushed")
        for peer_id, messages in self.history.items():
            lines.append(f"dialog {peer_id}:")
            for m in messages[-10:]:
                who = "bot" if m.from_bot else "user"
                flags = "".join(f" [{f}]" for f in ("deleted", "edited") if getattr(m, f))
                labels = [b["label"] for b in m.buttons()]
                lines.append(f"  #{m.cmid} {who}: {m.text[:120]!r}{flags}{f' {labels}' if labels else ''}")
        if self.spec_errors:
            lines.append("spec errors: " + "; ".join(self.spec_errors))
        if self.emulator_errors:
            lines.append("emulator errors: " + "; ".join(self.emulator_errors))
        return "\n".join(lines)
