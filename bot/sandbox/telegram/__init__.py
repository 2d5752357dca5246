"""The built-in local Bot API server (an emulator of Telegram) that the sandbox and the tests run against."""
