"""Fakes of what Otklik talks to: one module per external service."""
