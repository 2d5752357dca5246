"""Typed callback data: the same shape as dialogs.primitives.Payload ("d:<step>:<value>")."""

from __future__ import annotations

from aiogram.filters.callback_data import CallbackData

from dialogs.primitives import PAYLOAD_PREFIX, Payload


class DialogCallback(CallbackData, prefix=PAYLOAD_PREFIX):
    step: str
    value: str

    @classmethod
    def of(cls, payload: Payload) -> DialogCallback:
        return cls(step=payload.step, value=payload.value)

    def neutral(self) -> Payload | None:
        try:
            return Payload(step=self.step, value=self.value)
        except ValueError:
            return None
