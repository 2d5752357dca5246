"""The VK API methods the emulator serves.

Each ``_api_<method with dots as underscores>`` coroutine takes the form-encoded parameters (all
strings) and returns the ``response`` field, or raises :class:`VkApiError` with the code VK gives.
Problems VK itself would let through but the bot must not cause are recorded in ``spec_errors``.
"""

from __future__ import annotations

import json
from typing import Any

from bot.sandbox.vk import objects as vo
from bot.sandbox.vk.state import DAY, MAX_TEXT, VkApiError, VkMessage, VkState

_TRUE = ("1", "true")


def _ints(raw: str) -> list[int]:
    return [int(x) for x in raw.split(",") if x.strip()]


class VkMethods(VkState):
    def _spec(self, problem: str) -> None:
        self.spec_errors.append(problem)

    # -- long poll and identity -------------------------------------------------------------------

    async def _api_groups_getLongPollServer(self, p: dict[str, str]) -> Any:  # noqa: N802
        if int(p.get("group_id") or 0) != self.group_id:
            raise VkApiError(100, f"group_id is not {self.group_id}, the community of this token")
        key = vo.random_hex(40)
        self._lp_keys.add(key)
        return {"key": key, "server": f"{self.url}/lp", "ts": str(self._resume_ts())}

    async def _api_groups_getById(self, p: dict[str, str]) -> Any:  # noqa: N802
        wanted = p.get("group_id") or p.get("group_ids") or str(self.group_id)
        if {x.strip() for x in wanted.split(",")} - {str(self.group_id), f"club{self.group_id}"}:
            raise VkApiError(100, "the emulator knows only its own community")
        photos = {f"photo_{s}": f"{self.url}/files/club{self.group_id}_{s}.jpg" for s in (50, 100, 200)}
        group = {
            "id": self.group_id,
            "name": "Помощь семьям (тест)",
            "screen_name": f"club{self.group_id}",
            "is_closed": 0,
            "type": "group",
            **photos,
        }
        return {"groups": [group], "profiles": []}

    async def _api_users_get(self, p: dict[str, str]) -> Any:
        fields = {f.strip() for f in p.get("fields", "").split(",") if f.strip()}
        found = []
        for raw in (x.strip() for x in p.get("user_ids", "").split(",") if x.strip()):
            uid = int(raw[2:]) if raw.startswith("id") and raw[2:].isdigit() else int(raw)
            user = self.users.get(uid)
            item: dict[str, Any] = {"id": uid, "can_access_closed": True, "is_closed": False}
            if user is None:
                item |= {"first_name": "DELETED", "last_name": "", "deactivated": "deleted"}
            else:
                item |= {"first_name": user.first_name, "last_name": user.last_name}
            if "sex" in fields:
                item["sex"] = 1
            for name in fields & {"domain", "screen_name"}:
                item[name] = f"id{uid}"
            if "photo_100" in fields:
                item["photo_100"] = f"{self.url}/files/user{uid}_100.jpg"
            found.append(item)
        return found

    async def _api_messages_setActivity(self, p: dict[str, str]) -> Any:  # noqa: N802
        if not (p.get("peer_id") or p.get("user_id")):
            raise VkApiError(100, "peer_id is undefined")
        return 1

    # -- messages ---------------------------------------------------------------------------------

    async def _api_messages_send(self, p: dict[str, str]) -> Any:
        random_id = int(p.get("random_id") or 0)
        if not random_id:
            self._spec("messages.send without a non-zero random_id: VK cannot deduplicate a retried send")
        listed = "peer_ids" in p
        if listed:
            peers = _ints(p["peer_ids"])
        elif p.get("peer_id") or p.get("user_id"):
            peers = [int(p.get("peer_id") or p["user_id"])]
        else:
            raise VkApiError(100, "peer_id is undefined")
        text = p.get("message", "")
        if len(text) > MAX_TEXT:
            raise VkApiError(914)
        attachment = p.get("attachment") or None
        self._check_attachments("messages.send", attachment)
        if not text.strip() and not attachment and not p.get("sticker_id") and not p.get("forward_messages"):
            raise VkApiError(100, "message is empty or invalid")
        keyboard = self._keyboard("messages.send", p, None)
        results: list[dict[str, Any]] = []
        for peer in peers:
            self._check_peer(peer)
            earlier = self._by_random_id.get((peer, random_id)) if random_id else None
            if earlier is not None:
                results.append(_ids(earlier))
                continue
            code = self._refusal(peer, p.get("intent"))
            if code is not None:
                # Several peers: VK answers each in the list; one: as the call's error (unless asked).
                if listed and (self.per_peer_errors or len(peers) > 1):
                    error = {"code": code, "description": VkApiError(code).message}
                    results.append({"peer_id": peer, "error": error})
                    continue
                raise VkApiError(code)
            if keyboard is not None:
                self._keyboard("messages.send", p, self._client_info(peer))
            message_id, cmid = self._new_ids(peer)
            msg = VkMessage(
                peer_id=peer,
                cmid=cmid,
                message_id=message_id,
                text=text,
                keyboard=keyboard,
                random_id=random_id,
                attachment=attachment,
                reply_to=self._reply_target(peer, p),
                date=vo.now(),
            )
            self._add_message(msg)
            if random_id:
                self._by_random_id[(peer, random_id)] = msg
            if self.echo_replies:
                self.push_event("message_reply", self._bot_message_object(msg))
            results.append(_ids(msg))
        if listed:
            return results
        return results[0]["message_id"]

    def _refusal(self, peer: int, intent: str | None) -> int | None:
        """Why a message to ``peer`` is refused: 901 blocked; 943/944 for an intent (refuse_intent)."""
        if peer in self.blocked:
            return 901
        if intent and intent != "default":
            return self.intent_refused.get(peer)
        return None

    def _bot_message_object(self, msg: VkMessage) -> dict[str, Any]:
        return vo.message_object(
            message_id=msg.message_id,
            cmid=msg.cmid,
            peer_id=msg.peer_id,
            from_id=-self.group_id,
            text=msg.text,
            date=msg.date,
            version=next(self._versions),
            out=1,
            random_id=msg.random_id,
        )

    def _reply_target(self, peer: int, p: dict[str, str]) -> int | None:
        """The message_id the message replies to, from ``reply_to`` or ``forward`` with is_reply."""
        if p.get("reply_to"):
            try:
                return self.find(peer, message_id=int(p["reply_to"])).message_id
            except LookupError:
                raise VkApiError(100, "reply_to: no such message in this dialog") from None
        if p.get("forward"):
            forward = json.loads(p["forward"])
            cmids = forward.get("conversation_message_ids") or forward.get("cmids") or []
            if forward.get("is_reply") and cmids:
                try:
                    return self.find(int(forward.get("peer_id", peer)), cmid=int(cmids[0])).message_id
                except LookupError:
                    raise VkApiError(100, "forward: no such message to reply to") from None
        return None

    def _keyboard(
        self, method: str, p: dict[str, str], client: dict[str, Any] | None
    ) -> dict[str, Any] | None:
        raw = p.get("keyboard")
        if raw is None:
            return None
        keyboard, invalid, unsupported = vo.check_keyboard(raw, client)
        if invalid:
            for problem in invalid:
                self._spec(f"{method}: {problem}")
            raise VkApiError(911, invalid[0])
        for problem in unsupported:
            self._spec(f"{method}: {problem}")
        return keyboard

    def _check_attachments(self, method: str, raw: str | None) -> None:
        for ref in (r.strip() for r in (raw or "").split(",") if r.strip()):
            match = vo.ATTACHMENT_RE.fullmatch(ref)
            if match is None:
                self._spec(f"{method}: attachment {ref!r} is not <type><owner_id>_<id>[_<access_key>]")
                raise VkApiError(100, f"attachment {ref!r} is invalid")
            base = f"{match[1]}{match[2]}_{match[3]}"
            if base not in self.known_attachments:
                self._spec(
                    f"{method}: attachment {ref!r} is none that a user sent (uploads are not emulated)"
                )
            elif (key := self.known_attachments[base]) and match[4] != key:
                self._spec(f"{method}: attachment {ref!r} lacks its access_key; VK would drop it")

    async def _api_messages_edit(self, p: dict[str, str]) -> Any:
        peer = int(p["peer_id"])
        self._check_peer(peer)
        if p.get("cmid"):
            lookup = {"cmid": int(p["cmid"])}
        elif p.get("message_id"):
            lookup = {"message_id": int(p["message_id"])}
        else:
            raise VkApiError(100, "cmid or message_id is required")
        try:
            msg = self.find(peer, **lookup)
        except LookupError:
            raise VkApiError(100, "message not found") from None
        if not msg.from_bot:
            raise VkApiError(920)
        if msg.deleted:
            raise VkApiError(100, "message is deleted")
        if peer in self.blocked:
            raise VkApiError(901)
        if vo.now() - msg.date > DAY:
            raise VkApiError(909)
        # Like VK, an edit replaces the message: text, attachments and keyboard not sent are gone.
        text = p.get("message", "")
        if len(text) > MAX_TEXT:
            raise VkApiError(914)
        attachment = p.get("attachment") or None
        self._check_attachments("messages.edit", attachment)
        if not text.strip() and not attachment:
            raise VkApiError(100, "message is empty or invalid")
        msg.keyboard = self._keyboard("messages.edit", p, self._client_info(peer))
        msg.text, msg.attachment, msg.edited = text, attachment, True
        return 1

    async def _api_messages_delete(self, p: dict[str, str]) -> Any:
        for_all = p.get("delete_for_all", "0").lower() in _TRUE
        if p.get("cmids"):
            if not p.get("peer_id"):
                raise VkApiError(100, "peer_id is required with cmids")
            key, wanted = "conversation_message_id", _ints(p["cmids"])
        elif p.get("message_ids"):
            key, wanted = "message_id", _ints(p["message_ids"])
        else:
            raise VkApiError(100, "cmids or message_ids is required")
        peer = int(p.get("peer_id") or 0)
        results: list[dict[str, Any]] = []
        for wanted_id in wanted:
            item: dict[str, Any] = {"peer_id": peer, key: wanted_id}
            msg = self._find_for_delete(peer, key, wanted_id)
            problem = _delete_problem(msg, for_all)
            if msg is not None:
                item["peer_id"] = msg.peer_id
            if problem is not None:
                results.append(
                    item | {"response": 0, "error": {"code": problem[0], "description": problem[1]}}
                )
                continue
            assert msg is not None
            # Without delete_for_all VK deletes the message for the community only: the user keeps it.
            msg.deleted = msg.deleted or for_all
            results.append(item | {"response": 1})
        return results

    def _find_for_delete(self, peer: int, key: str, wanted_id: int) -> VkMessage | None:
        peers = [peer] if peer else list(self.history)
        for candidate in peers:
            try:
                if key == "message_id":
                    return self.find(candidate, message_id=wanted_id)
                return self.find(candidate, cmid=wanted_id)
            except LookupError:
                continue
        return None

    async def _api_messages_sendMessageEventAnswer(self, p: dict[str, str]) -> Any:  # noqa: N802
        event_id = p["event_id"]
        target = (int(p["user_id"]), int(p["peer_id"]))
        if self._pending_events.get(event_id) != target:
            self._spec(
                f"messages.sendMessageEventAnswer: no message_event {event_id!r} for user/peer {target}"
            )
            raise VkApiError(100, "event_id is invalid")
        if event_id in self._answered_events:
            self._spec(f"messages.sendMessageEventAnswer: event {event_id!r} answered twice")
            raise VkApiError(100, "event has already been answered")
        if "event_data" in p:
            problems = vo.event_data_problems(p["event_data"])
            for problem in problems:
                self._spec(f"messages.sendMessageEventAnswer: {problem}")
            if problems:
                raise VkApiError(100, problems[0])
        self._answered_events.add(event_id)
        return 1


def _ids(msg: VkMessage) -> dict[str, Any]:
    return {"peer_id": msg.peer_id, "message_id": msg.message_id, "conversation_message_id": msg.cmid}


def _delete_problem(msg: VkMessage | None, for_all: bool) -> tuple[int, str] | None:
    if msg is None:
        return 100, "message not found"
    if msg.deleted:
        return 100, "message is already deleted"
    if for_all and not msg.from_bot:
        return 924, "Can't delete this message for everybody: it is the user's"
    if for_all and vo.now() - msg.date > DAY:
        return 924, "Can't delete this message for everybody: it is older than 24 hours"
    return None
