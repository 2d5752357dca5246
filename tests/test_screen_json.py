"""A screen kept with its update until it is sent (handlers/conversation.py) comes back the same after
a restart: through JSON, every field, buttons with their payloads, reply buttons and files."""

from __future__ import annotations

import dataclasses
import json

from dialogs.primitives import Button, Payload, Screen, screen_from_json, screen_to_json
from dialogs.state import Attachment
from storage.vocabulary import AttachmentKind


def test_a_screen_survives_json_with_every_field() -> None:
    screen = Screen(
        text="<b>Заявка</b> принята",
        buttons=(
            (Button("Да", payload=Payload(step="consent", value="yes")), Button("Сайт", url="https://e.org")),
            (Button("Нет", payload=Payload(step="*", value="ann_no")),),
        ),
        reply_buttons=("SOS", "Меню"),
        request_contact="Поделиться телефоном",
        remove_reply_keyboard=True,
        protect=True,
        edit=True,
        force_reply=True,
        intent="confirmed_notification",
        files=(Attachment(kind=AttachmentKind.PHOTO, ref="tg:abc", name="a.jpg", url=None),),
        paid=True,
    )
    raw = json.loads(json.dumps(screen_to_json(screen)))
    back = screen_from_json(raw)
    assert back == screen
    # Every field is kept: a field added to Screen later and not kept here fails this.
    defaults = Screen(text="")
    changed = {
        f.name for f in dataclasses.fields(Screen) if getattr(screen, f.name) != getattr(defaults, f.name)
    }
    assert changed == {f.name for f in dataclasses.fields(Screen)}
