"""Cards for coordinators: the region in the chat's language; card buttons as typed payloads."""

from __future__ import annotations

from datetime import UTC, datetime

from dialogs.admin import BindAction, bind_payload
from dialogs.cards import CardAction, CardView, Speaker, card, card_payload, topic_name
from dialogs.directory import Directory
from dialogs.i18n import Translators
from dialogs.primitives import Payload
from storage.vocabulary import Category, ContactMethod, TicketStatus


def view(**changes: object) -> CardView:
    fields: dict[str, object] = {
        "id": 12,
        "category": Category.LEGAL,
        "answers": {},
        "urgent": False,
        "danger": [],
        "callback": False,
        "region": "Moscow",  # an English-speaking family chose Moscow
        "region_code": "msk",
        "children": 1,
        "ages": [3],
        "description": "help",
        "attachments": 0,
        "contact": ContactMethod.CHAT,
        "has_phone": False,
        "status": TicketStatus.NEW,
        "created_at": datetime(2026, 11, 28, tzinfo=UTC),
    }
    return CardView(**{**fields, **changes})  # type: ignore[arg-type]


def test_a_known_region_is_shown_in_the_chats_language(
    translators: Translators, directory: Directory
) -> None:
    russian = Speaker(translators["ru"], "ru", directory)
    assert "Регион:</b> Москва" in card(russian, view()).text
    assert "Moscow" not in card(russian, view()).text
    assert "Москва" in topic_name(russian, view())
    english = Speaker(translators["en"], "en", directory)
    assert "Moscow" in card(english, view(region="Москва")).text


def test_a_typed_region_is_shown_as_the_family_wrote_it(
    translators: Translators, directory: Directory
) -> None:
    russian = Speaker(translators["ru"], "ru", directory)
    assert "Деревня Малые Горки" in card(russian, view(region="Деревня Малые Горки", region_code=None)).text


def test_card_payloads_keep_their_persisted_format_and_parse_back() -> None:
    for action in ("claim", "oc-helped", "trc-legal", "trp-legal-2", "trr-legal-msk", "trr-housing-same"):
        payload = card_payload(action, 12)
        assert payload == Payload(step="tk", value=f"{action}.12"), "buttons already in chats still work"
        parsed = CardAction.unpack(payload)
        assert parsed is not None and parsed.action == action and parsed.ticket == 12
    parsed = CardAction.unpack(card_payload("trr-legal-msk", 7))
    assert parsed is not None and (parsed.kind, parsed.category, parsed.arg) == ("trr", "legal", "msk")
    parsed = CardAction.unpack(card_payload("oc-not_ours", 7))
    assert parsed is not None and (parsed.kind, parsed.arg) == ("oc", "not_ours")


def test_forged_payloads_parse_to_nothing() -> None:
    assert CardAction.unpack(Payload(step="tk", value="claim.12abc")) is None
    assert CardAction.unpack(Payload(step="tk", value="claim")) is None
    assert CardAction.unpack(Payload(step="bd", value="claim.12")) is None
    assert CardAction.unpack(None) is None


def test_bind_payloads_keep_their_format() -> None:
    assert bind_payload("c", "legal") == Payload(step="bd", value="c.legal")
    assert bind_payload("r", "any", "msk") == Payload(step="bd", value="r.any.msk")
    assert bind_payload("u", 5) == Payload(step="bd", value="u.5")
    assert BindAction.unpack(Payload(step="bd", value="p.legal.2")) == BindAction(
        kind="p", first="legal", second="2"
    )
