"""The web chat widget: a page at /chat, an embeddable script, live messages over WebSocket."""
