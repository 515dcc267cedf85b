"""An emulator of the Telegram Bot API over HTTP, so tests never reach Telegram.

``FakeTelegram`` serves ``{base_url}/bot{token}/{method}`` and
``GET {base_url}/file/bot{token}/{file_path}`` on 127.0.0.1. Production code talks to it
through a real aiogram ``Bot`` whose session points at it::

    async with FakeTelegram("123456:ABC") as telegram:
        api = TelegramAPIServer.from_base(telegram.base_url)
        bot = Bot("123456:ABC", session=AiohttpSession(api=api))
        alice = TgUser(42, "Alice")
        telegram.push_update("123456:ABC", telegram.text_message("123456:ABC", alice, "hi"))
        ...  # the code under test polls, answers
        assert telegram.params_of("sendMessage")[-1]["text"] == "Hello!"

Requests are read the way Telegram reads them: query string, urlencoded or multipart form
(aiogram's choice) or a JSON body. Form values arrive as strings; they are JSON-decoded
except for the parameters that are plain strings (text, caption, file ids...). Uploaded
files become ``Upload`` values, also where aiogram refers to them as ``attach://<field>``.

Emulated: getMe; getUpdates long polling with offsets; webhooks (remembered, and delivered on
demand by ``deliver_webhook``); sending text, photos, documents, voice, stickers; copying,
editing and deleting messages; callback query answers; forum topics; files; getChat. What
matters to us is validated as Telegram does: text length and emptiness, HTML markup, inline
keyboards, replies, topics, file ids, tokens, method names. Faults can be injected
(``fail_next``), users can block a bot (``block``), and flood limits can be enforced
(``enforce_limits``). Not emulated: MarkdownV2 parsing, inline mode, media groups, payments.

Chats the fake has not seen are created on first use: positive ids are private chats, ids
below -1000000000000 forum supergroups, other negative ids basic groups.

The package: ``server`` (``FakeTelegram``: lifecycle, routing, faults, limits, webhook
delivery), ``methods`` (the Bot API methods), ``updates`` (the update builders), ``model``
(what Telegram keeps), ``html`` (the HTML parse mode) and ``wire`` (requests and errors).
"""

from tests.fakes.telegram.model import StoredFile, TgChat, TgUser, Topic, Webhook
from tests.fakes.telegram.server import FakeTelegram
from tests.fakes.telegram.wire import ApiCall, ApiError, Upload

__all__ = [
    "ApiCall",
    "ApiError",
    "FakeTelegram",
    "StoredFile",
    "TgChat",
    "TgUser",
    "Topic",
    "Upload",
    "Webhook",
]
