"""The offline text pipeline: tokenisation, the tutorial's vocabulary, corpus readers."""

import json

import nltk
import numpy as np
import pytest

from aerann.text import (
    SENTENCE_END,
    SENTENCE_START,
    UNKNOWN_TOKEN,
    Vocabulary,
    read_comments_csv,
    read_text,
    tokenize,
    training_data,
)


@pytest.fixture(autouse=True)
def no_downloads(monkeypatch):
    def refuse(*args, **kwargs):
        raise AssertionError("nltk.download must never be called")

    monkeypatch.setattr(nltk, "download", refuse)


def test_tokenize_splits_sentences_and_wraps_them():
    sentences = tokenize("Hello there, Mr. Smith. How are you? I'm fine!")
    assert sentences[0][0] == SENTENCE_START and sentences[0][-1] == SENTENCE_END
    assert len(sentences) == 3
    assert sentences[1] == [SENTENCE_START, "how", "are", "you", "?", SENTENCE_END]
    assert "i" in sentences[2] and "'m" in sentences[2]


SENTENCES = [
    [SENTENCE_START, "b", "a", "c", SENTENCE_END],
    [SENTENCE_START, "a", "d", "b", SENTENCE_END],
    [SENTENCE_START, "e", "a", SENTENCE_END],
]


def test_vocabulary_keeps_the_most_common_words_then_unknown():
    vocab = Vocabulary.build(SENTENCES, 5)
    # START, a and END appear 3 times (in that order of first occurrence), b twice
    assert vocab.index_to_word == [SENTENCE_START, "a", SENTENCE_END, "b", UNKNOWN_TOKEN]
    assert len(vocab) == 5 and vocab.unknown_index == 4
    assert (vocab.start_index, vocab.end_index) == (0, 2)
    assert vocab.least_frequent() == ("b", 2)
    assert vocab.distinct_words == 7


def test_ties_are_broken_by_first_occurrence_every_time():
    first = Vocabulary.build(SENTENCES, 7).index_to_word
    assert first[4:6] == ["c", "d"]  # count 1 each, c seen first
    assert all(Vocabulary.build(SENTENCES, 7).index_to_word == first for _ in range(3))


def test_a_size_larger_than_the_corpus_keeps_every_word():
    vocab = Vocabulary.build(SENTENCES, 100)
    assert len(vocab) == 8 and vocab.index_to_word[-1] == UNKNOWN_TOKEN


def test_encode_decode_round_trip_and_unknown_words():
    vocab = Vocabulary.build(SENTENCES, 5)
    ids = vocab.encode([SENTENCE_START, "a", "zebra", SENTENCE_END])
    assert ids.dtype == np.int32 and list(ids) == [0, 1, 4, 2]
    assert vocab.decode(ids) == [SENTENCE_START, "a", UNKNOWN_TOKEN, SENTENCE_END]
    with pytest.raises(ValueError, match="outside the vocabulary"):
        vocab.decode([5])
    with pytest.raises(TypeError, match="not a string"):
        vocab.encode("a b")


def test_vocabulary_json_round_trip(tmp_path):
    vocab = Vocabulary.build(SENTENCES, 6)
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.index_to_word == vocab.index_to_word
    assert again.least_frequent() == vocab.least_frequent()


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"\xff\xfe", json.dumps({"format": "other"}).encode(),
     json.dumps({"format": "aerann-vocabulary", "index_to_word": ["a", "a", UNKNOWN_TOKEN]}).encode(),
     json.dumps({"format": "aerann-vocabulary", "index_to_word": ["a"]}).encode()],
)
def test_a_corrupt_vocabulary_file_is_refused(tmp_path, content):
    path = tmp_path / "v.json"
    path.write_bytes(content)
    with pytest.raises(ValueError):
        Vocabulary.load(path)


def test_bad_vocabulary_sizes_and_empty_corpora():
    with pytest.raises(ValueError, match="at least 3"):
        Vocabulary.build(SENTENCES, 2)
    with pytest.raises(TypeError, match="integer"):
        Vocabulary.build(SENTENCES, 3.5)
    with pytest.raises(ValueError, match="empty corpus"):
        Vocabulary.build([], 10)


def test_training_data_shifts_by_one():
    vocab = Vocabulary.build(SENTENCES, 8)
    X, Y = training_data(SENTENCES + [[SENTENCE_START]], vocab)
    assert len(X) == 3
    for x, y, sentence in zip(X, Y, SENTENCES):
        assert vocab.decode(x) == sentence[:-1] and vocab.decode(y) == sentence[1:]
        assert x.dtype == np.int32
    with pytest.raises(ValueError, match="no sentence"):
        training_data([[SENTENCE_START]], vocab)


def test_comments_csv_like_the_tutorials(tmp_path):
    path = tmp_path / "reddit.csv"
    path.write_text(
        'id,body,score\n1,"Hello World. This is GREAT!",5\n2,"multi\nline comment here.",1\n3,,0\n',
        encoding="utf-8",
    )
    sentences = read_comments_csv(path)
    assert sentences[0] == [SENTENCE_START, "hello", "world", ".", SENTENCE_END]
    assert sentences[1][-2:] == ["!", SENTENCE_END]
    assert sentences[2][1:4] == ["multi", "line", "comment"]
    assert len(sentences) == 3


def test_a_huge_single_line_field_is_read(tmp_path):
    path = tmp_path / "big.csv"
    path.write_text("body\n" + '"' + "word " * 2_000_000 + '."\n', encoding="utf-8")
    sentences = read_comments_csv(path)
    assert sum(len(s) - 2 for s in sentences) == 2_000_001  # cut into blocks, no word lost


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b"id,text\n1,hello there.\n", "no 'body' column"),
        (b"body\x00\x01\x02binary", "binary"),
        (b"body\n\xff\xfe caf\xe9\n", "not valid UTF-8"),
        (b"body\n,\n", "no sentences"),
    ],
)
def test_bad_csv_files_get_a_clear_error(tmp_path, content, words):
    path = tmp_path / "comments.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=words):
        read_comments_csv(path)


def test_plain_text_reader(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("Roses are red. Violets are blue.\n", encoding="utf-8")
    assert read_text(path)[1] == [SENTENCE_START, "violets", "are", "blue", ".", SENTENCE_END]
    path.write_text("   \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        read_text(path)
