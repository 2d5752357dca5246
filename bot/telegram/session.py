"""The HTTP session our Bot talks to Telegram with: aiogram's own, with the costs of a burst taken out.

Each was found by py-spy sampling the bot while `python -m bench.burst` had a thousand families press
/start at once; each is tested in tests/test_telegram_session.py.
"""

from __future__ import annotations

from collections import OrderedDict
from http import HTTPStatus
from typing import Any, cast

from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.exceptions import TelegramNetworkError
from aiogram.methods import Response, TelegramMethod
from aiogram.methods.base import TelegramType
from aiogram.types import InlineKeyboardMarkup
from aiohttp import ClientError, ClientTimeout
from pydantic import ValidationError

from storage import jsontext

JSON_HEADERS = {"Content-Type": "application/json"}
SUCCESS = (HTTPStatus.OK.value, HTTPStatus.IM_USED.value)  # as aiogram reads a status
KEPT_KEYBOARDS = 256  # as many as bot/telegram/render.py keeps built


class KeepingSession(AiohttpSession):
    """- aiogram builds ``Response[<returned type>]`` for every answer; pydantic (2.13) caches such
      classes only while something holds them, so between garbage collections each was built anew
      (5% of the CPU). The session holds them.
    - aiogram sends every call as a form, each field percent-encoded in Python: a screen of Cyrillic
      text became three times its size, byte by byte (4% of the CPU). The Bot API takes JSON bodies
      for every call that uploads no file, so those go as JSON; an upload goes as aiogram sends it.
    - aiogram reads an answer with ``json.loads`` and then validates the objects in Python; a
      successful answer is read by pydantic straight from the JSON text instead (a failed one still
      goes through aiogram, which raises the error that says what Telegram refused).
    - An inline keyboard (a screen's six buttons, each with a dozen empty fields) was walked field by
      field for every message that carried it, though most screens share one kept keyboard
      (bot/telegram/render.py): what it becomes in the request is kept with it."""

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self._kept: dict[Any, Any] = {}
        self._keyboards: OrderedDict[int, tuple[object, Any]] = OrderedDict()

    def check_response(
        self, bot: Bot, method: TelegramMethod[TelegramType], status_code: int, content: str
    ) -> Response[TelegramType]:
        returning = method.__returning__
        kept = self._kept.get(returning)
        if kept is None:
            kept = self._kept[returning] = Response[returning]  # type: ignore[valid-type]
        if SUCCESS[0] <= status_code <= SUCCESS[1]:
            try:
                response: Response[TelegramType] = kept.model_validate_json(content, context={"bot": bot})
            except ValidationError:
                pass  # aiogram's own reading raises the error for it
            else:
                if response.ok:
                    return response
        return super().check_response(bot, method, status_code, content)

    def json_body(self, bot: Bot, method: TelegramMethod[Any]) -> bytes | None:
        """The call as a JSON object, or None when it uploads a file (that needs a multipart form)."""
        files: dict[str, Any] = {}
        params = {}
        markup = getattr(method, "reply_markup", None)
        keyboard = isinstance(markup, InlineKeyboardMarkup)  # kept by bot/telegram/render.py; others are not
        dumped = method.model_dump(warnings=False, exclude={"reply_markup"} if keyboard else None)
        for key, value in dumped.items():
            prepared = self.prepare_value(value, bot=bot, files=files, _dumps_json=False)
            if prepared is not None:
                params[key] = prepared
        if keyboard:
            params["reply_markup"] = self._keyboard(bot, markup)
        return None if files else jsontext.dumps_bytes(params)

    def _keyboard(self, bot: Bot, markup: Any) -> Any:
        """A keyboard as the request carries it, kept for the same keyboard object (aiogram's models
        are frozen). The object is held beside it, so its ``id`` cannot be another's meanwhile."""
        found = self._keyboards.get(id(markup))
        if found is not None and found[0] is markup:
            self._keyboards.move_to_end(id(markup))
            return found[1]
        prepared = self.prepare_value(markup, bot=bot, files={}, _dumps_json=False)
        self._keyboards[id(markup)] = (markup, prepared)
        if len(self._keyboards) > KEPT_KEYBOARDS:
            self._keyboards.popitem(last=False)
        return prepared

    async def make_request(
        self,
        bot: Bot,
        method: TelegramMethod[TelegramType],
        timeout: int | None = None,  # noqa: ASYNC109 - aiogram's signature
    ) -> TelegramType:
        body = self.json_body(bot, method)
        if body is None:
            return await super().make_request(bot, method, timeout)
        session = await self.create_session()
        url = self.api.api_url(token=bot.token, method=method.__api_method__)
        try:
            async with session.post(
                url,
                data=body,
                headers=JSON_HEADERS,
                timeout=ClientTimeout(total=self.timeout if timeout is None else timeout),
            ) as resp:
                raw_result = await resp.text()
        except TimeoutError as exc:
            raise TelegramNetworkError(method=method, message="Request timeout error") from exc
        except ClientError as exc:
            raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
        response = self.check_response(bot=bot, method=method, status_code=resp.status, content=raw_result)
        return cast(TelegramType, response.result)
