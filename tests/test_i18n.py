"""Both locales carry every text: a key missing in one would show up as the raw key."""

from core.i18n import LOCALES, catalog, text


def test_every_locale_has_the_same_keys():
    keys = [set(catalog(locale)) for locale in LOCALES]
    assert keys[0] == keys[1], keys[0] ^ keys[1]


def test_texts_are_translated_and_formatted():
    assert text("ru", "chat.send") == "Отправить"
    assert text("en", "inbox.audit.status", old="new", new="open") == "status new → open"
