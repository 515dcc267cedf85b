"""Both locales carry every text: a key missing in one would show up as the raw key."""

from pathlib import Path

import pytest

from core.i18n import LOCALES, catalog, text


def test_every_locale_has_the_same_keys():
    keys = [set(catalog(locale)) for locale in LOCALES]
    assert keys[0] == keys[1], keys[0] ^ keys[1]


def test_texts_are_translated_and_formatted():
    assert text("ru", "chat.send") == "Отправить"
    assert text("en", "inbox.audit.status", old="new", new="open") == "status new → open"


def test_a_key_defined_in_two_files_is_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import core.i18n as i18n

    (tmp_path / "en.toml").write_text('"a" = "A"\n', encoding="utf-8")
    (tmp_path / "en-more.toml").write_text('"b" = "B"\n"a" = "again"\n', encoding="utf-8")
    monkeypatch.setattr(i18n, "_DIR", tmp_path)
    catalog.cache_clear()
    try:
        with pytest.raises(ValueError, match=r"en-more\.toml: a defined before"):
            catalog("en")
    finally:
        catalog.cache_clear()


def test_feature_files_join_the_catalog() -> None:
    assert text("en", "rating.ask", number=7).startswith("How did we do with your request #7?")
