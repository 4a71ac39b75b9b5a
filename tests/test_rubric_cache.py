"""Issue 13 item 2: a shipped rubric validated once is loaded from the user's cache afterwards
(part of every ``monev score``'s start), and never when the cached file does not verify."""

from __future__ import annotations

import pytest

import monev.rubric
from monev.resources import user_cache
from monev.rubric import load_rubric


@pytest.fixture
def validations(monkeypatch, tmp_path):
    """A user cache of the test's own, and a count of the rubrics validated."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    calls: list[str] = []
    parse = monev.rubric.parse_rubric

    def counted(text: str, file: str = "<string>"):
        calls.append(file)
        return parse(text, file)

    monkeypatch.setattr(monev.rubric, "parse_rubric", counted)
    return calls


def _cached() -> list:
    folder = user_cache()
    assert folder is not None
    return sorted((folder / "rubrics").glob("*.pickle"))


def test_a_shipped_rubric_is_validated_once(validations):
    first = load_rubric("ki-jatim-2024")
    assert validations == ["ki-jatim-2024.yaml"]
    again = load_rubric("ki-jatim-2024")
    assert validations == ["ki-jatim-2024.yaml"]  # not validated again
    assert again.model_dump() == first.model_dump()
    assert (again.path, again.sha256) == (first.path, first.sha256)
    assert again.max_points() == first.max_points()
    load_rubric("ki-kalbar-2025")  # another file: its own entry
    assert validations == ["ki-jatim-2024.yaml", "ki-kalbar-2025.yaml"]
    assert len(_cached()) == 2


def test_a_cached_rubric_that_does_not_verify_is_validated_again(validations, tmp_path):
    load_rubric("ki-jatim-2024")
    (entry,) = _cached()
    data = bytearray(entry.read_bytes())
    data[-20] ^= 0xFF
    entry.write_bytes(bytes(data))
    load_rubric("ki-jatim-2024")
    assert len(validations) == 2  # the HMAC no longer matched
    load_rubric("ki-jatim-2024")
    assert len(validations) == 2  # written anew

    (user_cache() / "secret").write_bytes(b"\x02" * 32)  # another user's entry
    load_rubric("ki-jatim-2024")
    assert len(validations) == 3


def test_a_rubric_file_of_ones_own_is_always_validated(validations, tmp_path):
    from monev.resources import data_dir

    own = tmp_path / "rubrik.yaml"
    own.write_text((data_dir("scoring_rules") / "ki-jatim-2024.yaml").read_text("utf-8"), "utf-8")
    load_rubric(own)
    load_rubric(own)
    assert validations == [str(own), str(own)]
    assert _cached() == []
