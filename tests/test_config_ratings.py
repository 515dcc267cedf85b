"""config.toml's [ratings] section: whether the public page may change a rating once given."""

from pathlib import Path

import pytest

from settings.config import ConfigError, parse_config


def test_the_public_page_allows_a_change_by_default(tmp_path: Path):
    config = parse_config({}, source="x", base_dir=tmp_path)
    assert config.ratings.public_page_allows_change is True


def test_the_public_page_can_forbid_a_change(tmp_path: Path):
    raw = {"ratings": {"public_page_allows_change": False}}
    config = parse_config(raw, source="x", base_dir=tmp_path)
    assert config.ratings.public_page_allows_change is False


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"public_page_allows_change": "maybe"}, "ratings.public_page_allows_change: "),
        ({"allow_change": True}, "ratings.allow_change: unknown key"),
    ],
)
def test_a_mistake_in_ratings_is_named(raw: dict, expected: str, tmp_path: Path):
    with pytest.raises(ConfigError) as caught:
        parse_config({"ratings": raw}, source="config.toml", base_dir=tmp_path)
    [problem] = caught.value.problems
    assert problem.startswith(expected), problem
