"""What a VK transport is built with, in a module of its own: the composition root names these whether
or not VK is configured, and they must not bring the vk-api client (and requests) into a bot that
never talks to VK (5 MiB of memory)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class VkCallback:
    """VK's Callback API (webhook mode): the code VK asks for once, and the secret of every event."""

    secret: str
    confirmation_code: str


@dataclass(frozen=True)
class VkTiming:
    """Pauses before retries; the defaults are for the real VK, tests make them short."""

    backoff: float = 0.5  # after a server error or a lost connection in an API call (doubles)
    rate_wait: float = 1.0  # after error 6 (error 9 waits three times as long)
    longpoll_backoff: float = 1.0  # after the long poll lost its connection (doubles, up to a minute)
