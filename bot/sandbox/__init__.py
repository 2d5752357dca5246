"""The sandbox: the whole bot against built-in local Telegram and VK servers, played from a page."""
