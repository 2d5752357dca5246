"""/open in a MAX group chat: MAX has no message links, so a 📍 button makes the bot answer the card."""

from __future__ import annotations

from bot.sandbox.max.emulator import MaxEmulator, MaxMessage
from tests.e2e import make_tickets, settled
from tests.max_e2e import MAX_GROUP, start_max_app


def cards(emu: MaxEmulator) -> list[MaxMessage]:
    return [m for m in emu.in_chat(MAX_GROUP) if any("claim" in str(b) for b in m.buttons())]


async def test_open_in_a_max_chat_answers_the_card(max_emu: MaxEmulator, db_url: str) -> None:
    app = await start_max_app(max_emu, db_url, coordinator_chat=f"max:{MAX_GROUP}")
    try:
        coordinator = max_emu.user(9601, name="Анна")
        ids = await make_tickets(app, 2)
        await max_emu.wait_for(lambda: len(cards(max_emu)) == 2)
        await settled(app)
        claimable = cards(max_emu)
        await coordinator.write("/open", chat_id=MAX_GROUP)
        await max_emu.wait_for(lambda: any("Открытые заявки" in m.text for m in max_emu.in_chat(MAX_GROUP)))
        listing = next(m for m in max_emu.in_chat(MAX_GROUP) if "Открытые заявки" in m.text)
        assert "семья" not in listing.text and "http" not in listing.text
        jumps = {str(b["text"]): str(b["payload"]) for b in listing.buttons()}
        assert set(jumps) == {f"📍 #{n}" for n in ids}
        await coordinator.press(listing, jumps[f"📍 #{ids[1]}"])
        await max_emu.wait_for(lambda: any("здесь" in m.text for m in max_emu.in_chat(MAX_GROUP)))
        answer = next(m for m in max_emu.in_chat(MAX_GROUP) if "здесь" in m.text)
        card = next(m for m in claimable if f"#{ids[1]}" in m.text)
        assert answer.reply_to == card.mid
        max_emu.assert_no_spec_errors()
    finally:
        await app.stop()
