"""A channel that records what the sender hands it and fails on demand."""

from core.channels import ButtonStyle, Capabilities, DeliveryError, Sent
from core.messages import Outbound

ANYTHING = Capabilities(max_text=None, buttons=ButtonStyle.CALLBACK, edits=True)


class FakeChannel:
    """Records deliveries; fails with the queued errors first."""

    def __init__(self, *errors: DeliveryError, capabilities: Capabilities = ANYTHING) -> None:
        self.sent: list[Outbound] = []
        self.errors = list(errors)
        self.capabilities = capabilities

    async def send(self, outbound: Outbound) -> Sent:
        if self.errors:
            raise self.errors.pop(0)
        self.sent.append(outbound)
        return Sent(platform_message_id=f"p{len(self.sent)}")
