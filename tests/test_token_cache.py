"""Kept tokens are exactly the tokens: read back, a text gives what tokenising it gives, and nothing stale is read."""

import logging

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from aerann.data import text, token_cache


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache folder that keeps every text, however short."""
    monkeypatch.setattr(token_cache, "directory", lambda: tmp_path / "aerann-tokens")
    monkeypatch.setattr(token_cache, "MIN_CHARACTERS", 0)
    monkeypatch.delenv("AERANN_TOKEN_CACHE", raising=False)
    return tmp_path / "aerann-tokens"


def entries(folder):
    return sorted(folder.glob("*.npz")) if folder.is_dir() else []


def untokenizable(documents):
    raise AssertionError("tokenised again instead of read from the cache")


# Any characters (punctuation, digits, accents, CJK, emoji) in sentences and paragraphs,
# with and without lower-casing, in one document or several.
sentence = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=40)
document = st.lists(sentence, min_size=1, max_size=6).map(lambda parts: ". ".join(parts) + ".")


@settings(suppress_health_check=[HealthCheck.function_scoped_fixture])  # one cache folder for all examples
@given(documents=st.lists(document, min_size=1, max_size=3), lowercase=st.booleans())
def test_a_text_read_back_gives_the_tokens_that_tokenising_it_gives(cache, documents, lowercase, monkeypatch):
    with monkeypatch.context() as fresh:
        fresh.setenv("AERANN_TOKEN_CACHE", "0")
        expected = text.tokenize_documents(documents, lowercase=lowercase)
    first = text.tokenize_documents(documents, lowercase=lowercase)
    with monkeypatch.context() as kept:
        kept.setattr(text, "_tokenize_documents", lambda documents, lowercase: untokenizable(documents))
        again = text.tokenize_documents(documents, lowercase=lowercase)
    assert first == expected and again == expected


def test_a_changed_text_or_setting_is_tokenised_anew(cache, monkeypatch):
    base = "The cat sat. The dog ran."
    text.tokenize(base)
    assert len(entries(cache)) == 1
    text.tokenize(base + " A bird sang.")
    text.tokenize(base, lowercase=False)
    text.tokenize_documents(["The cat sat.", "The dog ran."])  # the same characters, split otherwise
    assert len(entries(cache)) == 4
    real_version = token_cache.importlib.metadata.version
    monkeypatch.setattr(token_cache.importlib.metadata, "version",
                        lambda name: "0.0" if name == "nltk" else real_version(name))
    text.tokenize(base)
    assert len(entries(cache)) == 5


def test_short_texts_and_a_switched_off_cache_keep_nothing(tmp_path, monkeypatch):
    monkeypatch.setattr(token_cache, "directory", lambda: tmp_path / "aerann-tokens")
    text.tokenize("The cat sat.")
    assert entries(tmp_path / "aerann-tokens") == []
    monkeypatch.setattr(token_cache, "MIN_CHARACTERS", 0)
    monkeypatch.setenv("AERANN_TOKEN_CACHE", "0")
    text.tokenize("The cat sat.")
    assert entries(tmp_path / "aerann-tokens") == []


@pytest.mark.parametrize("damage", ["truncated", "not an npz", "lengths that do not add up"])
def test_an_unreadable_entry_is_removed_and_the_text_tokenised_again(cache, damage, caplog):
    sample = "The cat sat on the mat. It was happy."
    expected = text.tokenize(sample)
    [entry] = entries(cache)
    if damage == "truncated":
        entry.write_bytes(entry.read_bytes()[:40])
    elif damage == "not an npz":
        entry.write_text("hello")
    else:
        token_cache.files.save_arrays(entry, {"indices": [0, 1], "lengths": [5]},
                                   {"kind": token_cache.KIND, "words": ["a", "b"]})
    with caplog.at_level(logging.WARNING, logger="aerann.data.token_cache"):
        assert text.tokenize(sample) == expected
    assert "removing" in caplog.text
    assert token_cache.load(entry) == expected  # kept again, readable


def test_a_folder_that_cannot_be_written_only_costs_the_cache(tmp_path, monkeypatch):
    blocker = tmp_path / "a file"
    blocker.write_text("")
    monkeypatch.setattr(token_cache, "directory", lambda: blocker / "aerann-tokens")
    monkeypatch.setattr(token_cache, "MIN_CHARACTERS", 0)
    assert text.tokenize("The cat sat.") == [["SENTENCE_START", "the", "cat", "sat", ".", "SENTENCE_END"]]
