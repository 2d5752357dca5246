"""A local emulator of the MAX Bot API: /me, /updates (long polling), /subscriptions (webhooks posted
to the subscribed URL), /messages, /answers, /uploads (and the upload and file hosts), chat members.

Every request is checked against the spec (``spec.py``, ``../shared/specs/max/openapi.json`` when it is
there): method, path, query parameters and body fields; a wrong token gets 401. Faults can be injected
per operation: 429 with Retry-After, 5xx, and people who blocked the bot (403 ``chat.denied``). Tests
and the sandbox's page act as people through ``MaxUser``. It runs on a port of its own (``start``) or
mounted under the sandbox's one (``web_app``).
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections.abc import Callable
from typing import Any

import aiohttp
from aiohttp import web

from bot.sandbox.max.objects import BOT_ID, TOKEN, MaxMessage, Uploaded, _Fault, error
from bot.sandbox.max.spec import check_request, spec_available
from bot.sandbox.max.user import MaxUser


class MaxEmulator:
    def __init__(self, *, token: str = TOKEN) -> None:
        self.token = token
        self.spec_checked = spec_available()
        self.calls: list[tuple[str, str, dict[str, str], Any]] = []
        self.spec_errors: list[str] = []
        self.messages: dict[str, MaxMessage] = {}
        self.answers: list[tuple[str, Any]] = []
        self.blocked: set[int] = set()
        self.names: dict[int, str] = {}
        self._updates: list[dict[str, Any]] = []
        self._changed = asyncio.Condition()
        self._faults: list[_Fault] = []
        self._ids = itertools.count(1)
        self._runner: web.AppRunner | None = None
        self.url = ""
        # Webhooks: the subscriptions (by URL), and where their updates really go (``webhook_targets``
        # stands in for the public URL; several are a load balancer's round robin over replicas).
        self.subscriptions: dict[str, dict[str, Any]] = {}
        self.webhook_targets: list[str] = []
        self.webhook_answers: list[int] = []
        # Files: what the bot uploaded (by token) and what people's attachments link to (by name).
        self.uploads: dict[str, Uploaded] = {}
        self.served: dict[str, bytes] = {}
        self.upload_urls: dict[str, str] = {}  # upload slot -> the type asked for
        self.upload_auth: list[str | None] = []  # the Authorization header each upload came with
        self._pushed = 0  # updates before this index were posted to the subscription
        self._pusher: asyncio.Task[None] | None = None
        self._stopping = False

    def web_app(self) -> web.Application:
        """The API and the file hosts, to serve on a port of their own or under the sandbox's page."""
        app = web.Application(client_max_size=60 * 1024 * 1024)
        app.router.add_route("*", "/{tail:.*}", self._handle)
        return app

    async def start(self) -> None:
        self._runner = web.AppRunner(self.web_app(), shutdown_timeout=1.0, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        self.url = f"http://127.0.0.1:{port}"

    async def stop(self) -> None:
        async with self._changed:  # long polls held open return at once
            self._stopping = True
            self._changed.notify_all()
        if self._pusher is not None:
            self._pusher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._pusher
        if self._runner is not None:
            await self._runner.cleanup()

    def assert_no_spec_errors(self) -> None:
        assert not self.spec_errors, "\n".join(self.spec_errors)

    def fail(
        self,
        method: str,
        path: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int | None = None,
        code: str | None = None,
    ) -> None:
        self._faults.append(_Fault(method, path, status, times, retry_after, code))

    # ---- what tests do as people ----

    def user(self, user_id: int, *, locale: str = "ru-RU", name: str = "Мария") -> MaxUser:
        self.names[user_id] = name
        return MaxUser(self, user_id, locale)

    def new_mid(self) -> str:
        return f"mid.{next(self._ids):032x}"

    async def push(self, update: dict[str, Any]) -> None:
        async with self._changed:
            self._updates.append({"timestamp": int(time.time() * 1000), **update})
            self._changed.notify_all()

    async def repeat(self, mid: str) -> None:
        """MAX sends an update again (a lost acknowledgement): the same message, a second time."""
        [update] = [u for u in self._updates if (u.get("message") or {}).get("body", {}).get("mid") == mid]
        await self.push(update)

    def message_object(self, message: MaxMessage) -> dict[str, Any]:
        kind, ident = message.chat
        recipient = (
            {"chat_id": ident + 10**9, "chat_type": "dialog", "user_id": ident}
            if kind == "user"
            else {"chat_id": ident, "chat_type": "chat", "user_id": None}
        )
        obj: dict[str, Any] = {
            "sender": self._user(message.sender),
            "recipient": recipient,
            "timestamp": int(time.time() * 1000),
            "body": {"mid": message.mid, "seq": 1, "text": message.text, "attachments": message.attachments},
        }
        if message.reply_to is not None:
            linked = self.messages[message.reply_to]
            obj["link"] = {
                "type": "reply",
                "sender": self._user(linked.sender),
                "message": {"mid": linked.mid, "seq": 1, "text": linked.text},
            }
        return obj

    def _user(self, user_id: int) -> dict[str, Any]:
        name = "Бот" if user_id == BOT_ID else self.names.get(user_id, "Человек")
        return {"user_id": user_id, "first_name": name, "is_bot": user_id == BOT_ID, "name": name}

    def in_dialog(self, user_id: int) -> list[MaxMessage]:
        return [m for m in self.messages.values() if m.chat == ("user", user_id)]

    def in_chat(self, chat_id: int) -> list[MaxMessage]:
        return [m for m in self.messages.values() if m.chat == ("chat", chat_id)]

    async def wait_for(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() >= deadline:
                raise AssertionError(f"condition not met within {timeout}s\n{self.dump()}")
            await asyncio.sleep(0.02)

    def dump(self) -> str:
        return "\n".join(
            f"{m.chat} {'bot' if m.from_bot else m.sender}{' (deleted)' if m.deleted else ''}: {m.text[:80]!r}"
            for m in list(self.messages.values())[-15:]
        )

    # ---- the API ----

    async def _handle(self, request: web.Request) -> web.Response:
        path = "/" + request.match_info["tail"]  # the same when mounted under the sandbox's /max/
        # The upload and file hosts (fu.oneme.ru, i.oneme.ru...) are not the Bot API: no spec, no token.
        if path.startswith("/upload/"):
            return await self._take_upload(path.removeprefix("/upload/"), request)
        if path.startswith("/files/"):
            return self._serve(path.removeprefix("/files/"))
        query = dict(request.query)
        body = json.loads(await request.text()) if request.can_read_body else None
        self.calls.append((request.method, path, query, body))
        if self.spec_checked:
            self.spec_errors += check_request(request.method, path, query, body)
        if request.headers.get("Authorization") != self.token:
            return error(401, "verify.token", "Invalid access_token")
        for fault in self._faults:
            if fault.times > 0 and fault.method == request.method and fault.path == path:
                fault.times -= 1
                headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else None
                code = fault.code or ("too.many.requests" if fault.status == 429 else "internal")
                return error(fault.status, code, "fault", headers)
        route = (request.method, path)
        if route == ("GET", "/me"):
            return web.json_response(
                {**self._user(BOT_ID), "username": "family_bot", "last_activity_time": 0}
            )
        if route == ("GET", "/updates"):
            return await self._get_updates(query)
        if route == ("POST", "/messages"):
            return self._send(query, body or {})
        if route == ("PUT", "/messages"):
            return self._edit(query["message_id"], body or {})
        if route == ("DELETE", "/messages"):
            return self._delete(query["message_id"])
        if route == ("GET", "/subscriptions"):
            listed = [{k: v for k, v in sub.items() if k != "secret"} for sub in self.subscriptions.values()]
            return web.json_response({"subscriptions": listed})
        if route == ("POST", "/subscriptions"):
            return self._subscribe(body or {})
        if route == ("DELETE", "/subscriptions"):
            gone = self.subscriptions.pop(query["url"], None)
            return web.json_response({"success": gone is not None})
        if route == ("POST", "/uploads"):
            slot = f"u{next(self._ids)}"
            self.upload_urls[slot] = query["type"]
            return web.json_response({"url": f"{self.url}/upload/{slot}"})
        if route == ("POST", "/answers"):
            self.answers.append((query["callback_id"], body))
            return web.json_response({"success": True})
        if request.method == "GET" and path.startswith("/messages/"):
            message = self.messages.get(path.removeprefix("/messages/"))
            if message is None or message.deleted:
                return error(404, "not.found", "message not found")
            return web.json_response(self.message_object(message))
        if request.method == "GET" and path.endswith("/members/me"):
            return web.json_response({**self._user(BOT_ID), "is_admin": True, "is_owner": False})
        return error(404, "not.found", f"{request.method} {path} is not emulated")

    async def _take_upload(self, slot: str, request: web.Request) -> web.Response:
        self.upload_auth.append(request.headers.get("Authorization"))  # our token must not come here
        kind = self.upload_urls.pop(slot, None)  # one file per upload URL
        if kind is None:
            return error(404, "not.found", "unknown upload url")
        form = await request.post()
        part = form.get("data")
        if not isinstance(part, web.FileField):
            return error(400, "proto.payload", "multipart field 'data' missing")
        token = f"up-{slot}"
        self.uploads[token] = Uploaded(kind, part.filename, part.file.read())
        if kind == "image":  # MAX answers an image with its photo tokens
            return web.json_response({"photos": {f"p{slot}": {"token": token}}})
        return web.json_response({"token": token})

    def _serve(self, name: str) -> web.Response:
        token = name.split("?", 1)[0]
        data = self.uploads[token].data if token in self.uploads else self.served.get(token)
        if data is None:
            return web.Response(status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def serve(self, name: str, data: bytes) -> str:
        """A file at a link, as MAX's CDN keeps people's files; returns the link."""
        self.served[name] = data
        return f"{self.url}/files/{name}"

    def stored(self, request: dict[str, Any]) -> dict[str, Any]:
        """An attachment as MAX shows it in a message: a file sent by token keeps its token and gets
        a link; an uploaded one is served from here, with its name and size."""
        if request.get("type") not in {"image", "file", "audio", "video"}:
            return request
        payload = dict(request.get("payload") or {})
        photos = payload.pop("photos", None)
        if isinstance(photos, dict) and photos:
            payload["token"] = next(iter(photos.values()))["token"]
        payload.setdefault("token", f"tok-{payload.get('url', 'x')}")
        upload = self.uploads.get(payload["token"])
        if upload is not None:
            payload.setdefault("url", f"{self.url}/files/{payload['token']}")
        payload.setdefault("url", f"https://files.max.test/{payload['token']}")
        shown: dict[str, Any] = {"type": request["type"], "payload": payload}
        if request["type"] == "image":
            payload.setdefault("photo_id", abs(hash(payload["token"])) % 10**9)
        if request["type"] == "file" and upload is not None:
            shown.update(filename=upload.name, size=len(upload.data))
        return shown

    def _subscribe(self, body: dict[str, Any]) -> web.Response:
        url = str(body.get("url") or "")
        if not url.startswith("https://"):
            return web.json_response({"success": False, "message": "url must start with https://"})
        types = body.get("update_types")
        self.subscriptions[url] = {
            "url": url,
            "time": int(time.time() * 1000),
            "update_types": list(types) if isinstance(types, list) else None,
            "secret": body.get("secret"),
        }
        if self._pusher is None:
            self._pushed = len(self._updates)  # from now on: what long polling had stays there
            self._pusher = asyncio.create_task(self._push_webhooks(), name="max-emulator-webhook")
        return web.json_response({"success": True})

    async def _push_webhooks(self) -> None:
        """Like MAX: each update POSTed to the subscription with its secret, again until it gets 200."""
        turn = 0
        async with aiohttp.ClientSession() as session:
            while True:
                async with self._changed:
                    await self._changed.wait_for(
                        lambda: bool(self.subscriptions) and len(self._updates) > self._pushed
                    )
                    update = self._updates[self._pushed]
                [subscription] = list(self.subscriptions.values())[:1]
                types = subscription["update_types"]
                if types and update.get("update_type") not in types:
                    self._pushed += 1
                    continue
                targets = self.webhook_targets or [subscription["url"]]
                target = targets[turn % len(targets)]
                turn += 1
                secret = subscription["secret"]
                headers = {"X-Max-Bot-Api-Secret": secret} if secret else {}
                try:
                    async with session.post(target, json=update, headers=headers) as reply:
                        self.webhook_answers.append(reply.status)
                        ok = reply.status == 200
                except aiohttp.ClientError:
                    ok = False
                if ok:
                    self._pushed += 1
                else:
                    await asyncio.sleep(0.05)

    async def _get_updates(self, query: dict[str, str]) -> web.Response:
        start = int(query.get("marker", 0))
        timeout = float(query.get("timeout", 30))
        async with self._changed:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self._stopping or len(self._updates) > start), timeout
                )
            batch = self._updates[start:]
        return web.json_response({"updates": batch, "marker": start + len(batch)})

    def _send(self, query: dict[str, str], body: dict[str, Any]) -> web.Response:
        if "user_id" in query:
            chat = ("user", int(query["user_id"]))
            if chat[1] in self.blocked:
                return error(403, "chat.denied", "the user blocked the bot")
        else:
            chat = ("chat", int(query["chat_id"]))
        link = body.get("link")
        if link and (link["mid"] not in self.messages or self.messages[link["mid"]].deleted):
            return error(400, "message.not.found", "the message replied to is gone")
        attachments = [self.stored(a) for a in body.get("attachments") or []]
        message = MaxMessage(
            self.new_mid(), chat, BOT_ID, body.get("text") or "", attachments, link and link["mid"]
        )
        self.messages[message.mid] = message
        return web.json_response({"message": self.message_object(message)})

    def _edit(self, mid: str, body: dict[str, Any]) -> web.Response:
        message = self.messages.get(mid)
        if message is None or message.deleted or not message.from_bot:
            return error(404, "not.found", "message not found")
        message.text = body.get("text") or ""
        if body.get("attachments") is not None:
            message.attachments = [self.stored(a) for a in body["attachments"]]
        message.edits += 1
        return web.json_response({"success": True})

    def _delete(self, mid: str) -> web.Response:
        message = self.messages.get(mid)
        if message is None or message.deleted:
            return error(404, "not.found", "message not found")
        if not message.from_bot and message.chat[0] == "user":
            # In a dialog the bot may delete only its own messages.
            return web.json_response({"success": False, "message": "not allowed"})
        message.deleted = True
        return web.json_response({"success": True})


__all__ = ["BOT_ID", "TOKEN", "MaxEmulator", "MaxMessage", "MaxUser", "Uploaded"]
