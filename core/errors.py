"""What the core refuses, and why.

    OtklikError
    ├── NotFound            a ticket, agent or inbox that does not exist
    ├── Forbidden           the actor's role or assignment does not allow the action
    ├── InvalidTransition   a status change the ticket's lifecycle does not allow
    ├── InvalidInput        empty text, a bad button, an unknown agent in an assignment
    └── ButtonRefused       a press that is unknown, forged, or from someone else's chat,
                            answers a rating request that expired, or by link changes a
                            rating the public page may not change

Messages say what was asked and what would have been allowed, so the web layer can show
them to the user as they are.
"""


class OtklikError(Exception):
    """Base of everything the core refuses on purpose."""


class NotFound(OtklikError):
    pass


class Forbidden(OtklikError):
    pass


class InvalidTransition(OtklikError):
    pass


class InvalidInput(OtklikError):
    pass


class ButtonRefused(OtklikError):
    """``key`` names the text (core/locales) that tells the customer why, where the adapter
    has a way to say it; unset: the adapter's own "this button no longer works"."""

    def __init__(self, message: str, key: str | None = None) -> None:
        super().__init__(message)
        self.key = key
