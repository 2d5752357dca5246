"""Files in the sandbox: what a pane's person sends and what the bot sends come back byte for byte.

A family's photo crosses to the coordinators' chat (Telegram to Telegram by copy, VK to Telegram by
download and upload); a coordinator's document crosses back. The page gets each file from the sandbox's
own ``/files/`` route: pictures inline, anything else as a download that can never run as a page.
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from bot.sandbox.files import image_type, sample_photo
from bot.sandbox.scenario import Scenario
from bot.sandbox.server import Sandbox
from bot.sandbox.settings import COORDINATORS
from tests.sandbox_support import Client, request_taken

PHOTO = sample_photo(64, 48, seed=3)
DOCUMENT = b"%PDF-1.4\n" + bytes(range(256)) * 40  # not text: any re-encoding on the way would show


@pytest.fixture
async def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[Sandbox]:
    monkeypatch.chdir(tmp_path)
    box = Sandbox(host="127.0.0.1", port=0, workdir=tmp_path)
    box.scenario = Scenario(box.world, pause=0.0)
    await box.start()
    yield box
    await box.stop()


@pytest.fixture
async def client(sandbox: Sandbox) -> AsyncIterator[Client]:
    async with aiohttp.ClientSession() as session:
        yield Client(session, sandbox.url)


def picked(name: str, content: bytes, mime: str) -> dict[str, str]:
    return {"name": name, "type": mime, "data": base64.b64encode(content).decode()}


def files_of(state: dict[str, Any], pane: str) -> list[dict[str, Any]]:
    return [f for m in state["panes"][pane]["messages"] for f in m.get("files", [])]


@pytest.mark.parametrize("family", ["tg_family", "vk_family"])
async def test_a_familys_photo_reaches_the_coordinators_and_a_document_comes_back(
    sandbox: Sandbox, client: Client, family: str
) -> None:
    coordinator = COORDINATORS[1].user_id
    card = await request_taken(client, family, coordinator)

    # The family's photo: a thumbnail in the family's own pane and in the coordinators' chat.
    status, answer = await client.act(pane=family, kind="photo", file=picked("дом.png", PHOTO, "image/png"))
    assert status == 200, answer
    state = await client.until(lambda s: [f for f in files_of(s, "group") if f["image"]])
    [mine] = files_of(state, family)
    [relayed] = [f for f in files_of(state, "group") if f["image"]]
    for shown in (mine, relayed):
        status, body, headers = await client.fetch(shown["url"])
        assert (status, body, headers["Content-Type"]) == (200, PHOTO, "image/png")
        assert shown["size"] == len(PHOTO)

    # The coordinator's document, in the card's thread, reaches the family as a download with its name.
    status, answer = await client.act(
        pane="group",
        kind="document",
        reply_to=card["id"],
        coordinator=coordinator,
        file=picked("договор.pdf", DOCUMENT, "application/pdf"),
    )
    assert status == 200, answer
    state = await client.until(lambda s: [f for f in files_of(s, family) if not f["image"]])
    [document] = [f for f in files_of(state, family) if not f["image"]]
    assert document["name"] == "договор.pdf" and document["size"] == len(DOCUMENT)
    status, body, headers = await client.fetch(document["url"])
    assert status == 200 and body == DOCUMENT
    assert headers["Content-Disposition"].startswith("attachment;")
    assert not sandbox.telegram.spec_errors and not sandbox.vk.spec_errors


async def test_a_photo_without_a_picture_chosen_is_a_real_sample_and_a_bad_file_changes_nothing(
    sandbox: Sandbox, client: Client
) -> None:
    await client.say("admin", "/start")
    status, _ = await client.act(pane="admin", kind="photo")
    assert status == 200
    state = await client.until(lambda s: files_of(s, "admin"))
    [sample] = files_of(state, "admin")
    status, body, _ = await client.fetch(sample["url"])
    assert status == 200 and sample["image"] and image_type(body) == "image/png"

    before = (await client.state())["panes"]["tg_family"]  # a pane nobody used: nothing may appear there
    updates = len(sandbox.telegram.all_updates)
    for bad in (
        {"kind": "photo", "file": picked("a.html", b"<script>alert(1)</script>", "text/html")},
        {"kind": "document", "file": {"name": "x", "data": "not base64!"}},
        {"kind": "document", "file": {"name": "x", "data": ""}},
        {"kind": "document", "file": "x"},
    ):
        status, answer = await client.act(pane="tg_family", **bad)
        assert status == 400 and answer["ok"] is False, bad
    assert (await client.state())["panes"]["tg_family"] == before
    assert len(sandbox.telegram.all_updates) == updates
    for url in ("/files/tg/nothing", "/files/max/x", "/files/vk/photo1_2"):
        assert (await client.fetch(url))[0] == 404


async def test_a_persons_html_file_is_served_as_a_download_never_as_a_page(client: Client) -> None:
    page = b"<html><script>alert(document.cookie)</script></html>"
    status, _ = await client.act(pane="tg_family", kind="document", file=picked("x.html", page, "text/html"))
    assert status == 200
    state = await client.until(lambda s: files_of(s, "tg_family"))
    [shown] = files_of(state, "tg_family")
    status, body, headers = await client.fetch(shown["url"])
    assert body == page and not shown["image"]
    assert headers["Content-Type"].startswith("application/octet-stream")
    assert (
        headers["Content-Disposition"].startswith("attachment;")
        and "sandbox" in headers["Content-Security-Policy"]
    )
    assert headers["X-Content-Type-Options"] == "nosniff"


async def test_the_admins_directory_export_is_a_download_of_the_real_file(client: Client) -> None:
    await client.say("admin", "/admin")
    for value in ("directory", "export"):
        await client.tap("admin", value)
    state = await client.until(lambda s: files_of(s, "admin"))
    [export] = files_of(state, "admin")
    status, body, headers = await client.fetch(export["url"])
    assert status == 200 and not export["image"] and export["size"] == len(body)
    assert export["name"].endswith(".csv") and headers["Content-Disposition"].startswith("attachment;")
    assert "Юридическая консультация для семей (пример)" in body.decode("utf-8-sig")
