"""The Viber channel: a thin aiohttp client of the Viber REST Bot API and its webhook."""
