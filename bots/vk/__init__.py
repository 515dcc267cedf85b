"""The VK channel: a community's messages by the Callback API or the Bots Long Poll API."""
