"""Gettext catalogs: messages.pot and <lang>/LC_MESSAGES/messages.po, found relative to this file."""

from pathlib import Path

LOCALES_DIR = Path(__file__).resolve().parent
DOMAIN = "messages"
