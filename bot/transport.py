"""What the composition root needs from each messenger: a transport it starts, stops and watches."""

from __future__ import annotations

from typing import Protocol

from handlers.ports import Messenger
from storage.vocabulary import Platform


class Transport(Protocol):
    platform: Platform

    @property
    def messenger(self) -> Messenger: ...

    async def start(self) -> None:
        """Connect and start taking updates; a token the platform refuses raises ConfigError."""
        ...

    async def start_link(self) -> str | None:
        """The start of a link that opens the bot with a payload (the payload is appended); None
        when the platform did not say the bot's name."""
        ...

    async def stop_listening(self) -> None:
        """Take no new updates; those being handled go on (the application drains them)."""
        ...

    async def close(self) -> None:
        """Release connections, after the drain."""
        ...

    @property
    def failed(self) -> BaseException | None:
        """Why the transport stopped by itself, if it did."""
        ...
