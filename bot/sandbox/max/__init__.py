"""The local MAX Bot API server: the tests' emulator, and the sandbox's MAX."""
