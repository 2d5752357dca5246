"""The built-in local VK API and Bots Long Poll server that the sandbox and the tests run against."""
