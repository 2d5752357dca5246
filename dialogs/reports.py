"""What an admin's effect reports back to the dialog (an import's errors, a count): lines of msgids
with their parameters, translated in the admin's language when shown."""

from __future__ import annotations

from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict

from dialogs.engine import Turn
from dialogs.flow import MENU
from dialogs.i18n import N_
from dialogs.primitives import Role, Screen, Speaks, SystemEvent


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


def outsider(t: Turn[Any]) -> bool:
    """Someone who is not (any more) an admin, left in an admin's dialog (a forged state, or removed
    from ADMIN_IDS): nothing they pressed is done, and they are taken to the family's menu."""
    if t.ctx.role is Role.ADMIN:
        return False
    t.effects.clear()
    t.notices.clear()
    t.screens.append(Screen(text=t._(N_("This part of the bot is for admins only."))))
    t.reset_to(MENU)
    return True
