"""What an admin's effect reports back to the dialog (an import's errors, a count): lines of msgids
with their parameters, translated in the admin's language when shown."""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from dialogs.primitives import Speaks, SystemEvent


class Line(BaseModel):
    model_config = ConfigDict(frozen=True)

    message: str  # a gettext msgid (N_)
    params: dict[str, str | int] = {}


class Report(SystemEvent):
    kind: ClassVar[str] = "admin_report"
    lines: tuple[Line, ...]

    @classmethod
    def of(cls, message: str, **params: str | int) -> Report:
        return cls(lines=(Line(message=message, params=params),))

    def render(self, t: Speaks) -> str:
        return "\n".join(t._(line.message).format(**line.params) for line in self.lines)
