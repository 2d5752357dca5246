"""VK's messages.send to many people at once (``peer_ids``, up to 100), with a result for each."""

from __future__ import annotations

from typing import Any

from bot.vk.client import UNREACHABLE, VkCaller, VkCallError
from handlers.ports import DeliveryFailedError, IntentRefusedError, RecipientUnreachableError, SendResult

PEERS_PER_SEND = 100  # messages.send's peer_ids
INTENT_REFUSED = {943, 944}  # the intent may not be used for this person now / its limit is spent


async def send_batch(
    call: VkCaller,
    peers: list[int],
    random_id: int,
    *,
    text: str,
    keyboard: str | None,
    intent: str | None,
    attachment: str | None = None,
) -> dict[int, SendResult]:
    """One call for ``peers``; the same random_id for all of them (VK keys it per peer)."""
    extra = {"attachment": attachment} if attachment else {}
    try:
        answer = await call(
            "messages.send",
            peer_ids=peers,
            random_id=random_id,
            message=text,
            keyboard=keyboard,
            intent=intent,
            dont_parse_links=True,
            disable_mentions=True,
            **extra,
        )
    except VkCallError as exc:
        failure = (
            IntentRefusedError(exc.code) if exc.code in INTENT_REFUSED else DeliveryFailedError(str(exc))
        )
        return dict.fromkeys(peers, failure)
    except RecipientUnreachableError as exc:
        if len(peers) == 1:
            return {peers[0]: exc}
        raise DeliveryFailedError("VK refused a send to many as a whole") from exc
    items = (
        {int(i.get("peer_id", 0)): i for i in answer if isinstance(i, dict)}
        if isinstance(answer, list)
        else {}
    )
    missing = DeliveryFailedError("VK gave no result for this peer")
    return {peer: result_of(items[peer]) if peer in items else missing for peer in peers}


def result_of(item: dict[str, Any]) -> SendResult:
    """One peer's result of messages.send(peer_ids=...): its message id, or why not."""
    if "error" in item:
        code = int(item["error"].get("code", 0))
        if code in UNREACHABLE:
            return RecipientUnreachableError(f"VK error {code}")
        if code in INTENT_REFUSED:
            return IntentRefusedError(code)
        return DeliveryFailedError(f"VK error {code}")
    if "conversation_message_id" not in item:
        return DeliveryFailedError("VK gave no message id")
    return [int(item["conversation_message_id"])]
