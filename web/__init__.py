"""The aiohttp application: webhooks, agent inbox, JSON API, health."""
