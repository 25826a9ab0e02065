"""The offline text pipeline: tokenisation, the tutorial's vocabulary, corpus readers."""

import csv
import json

import nltk
import nltk.data
import numpy as np
import pytest

from aerann.data.text import (
    SENTENCE_END,
    SENTENCE_START,
    UNKNOWN_TOKEN,
    Vocabulary,
    read_comments_csv,
    read_text,
    split_sentences,
    tokenize,
    tokenize_documents,
    training_data,
)


@pytest.fixture(autouse=True)
def no_nltk_data(monkeypatch):
    """Fail any test that downloads or even looks up NLTK's data files."""

    def refuse(*args, **kwargs):
        raise AssertionError("aerann.data.text must need no NLTK data and never download it")

    monkeypatch.setattr(nltk, "download", refuse)
    monkeypatch.setattr(nltk.downloader.Downloader, "download", refuse)
    monkeypatch.setattr(nltk.data, "load", refuse)
    monkeypatch.setattr(nltk.data, "find", refuse)


def test_the_brief_names_its_special_tokens():
    assert (SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN) == ("SENTENCE_START", "SENTENCE_END", "UNKNOWN_TOKEN")


def test_tokenize_splits_sentences_lowercases_and_wraps_them():
    sentences = tokenize("Hello there, Mr. Smith. How are you? I'm fine!")
    assert sentences[-2] == [SENTENCE_START, "how", "are", "you", "?", SENTENCE_END]
    assert sentences[-1] == [SENTENCE_START, "i", "'m", "fine", "!", SENTENCE_END]
    assert sentences[0][:4] == [SENTENCE_START, "hello", "there", ","]
    assert tokenize("How ARE you?", lowercase=False) == [[SENTENCE_START, "How", "ARE", "you", "?", SENTENCE_END]]
    assert tokenize("   \n ") == []


def test_a_blank_line_ends_a_sentence():
    assert split_sentences("A Title\n\nThe text starts here. It goes on") == [
        "A Title", "The text starts here.", "It goes on",
    ]


def test_no_sentence_spans_two_documents():
    sentences = tokenize_documents(["first comment without a stop", "", "Second one. Third!"])
    assert [s[1] for s in sentences] == ["first", "second", "third"]
    assert sentences[0][-2:] == ["stop", SENTENCE_END]


SENTENCES = [
    [SENTENCE_START, "b", "a", "c", SENTENCE_END],
    [SENTENCE_START, "a", "d", "b", SENTENCE_END],
    [SENTENCE_START, "e", "a", SENTENCE_END],
]


def test_vocabulary_keeps_the_most_common_words_then_unknown():
    vocab = Vocabulary.build(SENTENCES, 5)
    # START, a and END appear 3 times (in that order of first occurrence), b twice
    assert vocab.index_to_word == [SENTENCE_START, "a", SENTENCE_END, "b", UNKNOWN_TOKEN]
    assert vocab.word_to_index == {w: i for i, w in enumerate(vocab.index_to_word)}
    assert len(vocab) == 5 and vocab.unknown_index == 4
    assert (vocab.start_index, vocab.end_index) == (0, 2)
    assert vocab.least_frequent() == ("b", 2)
    assert vocab.counts == {SENTENCE_START: 3, "a": 3, SENTENCE_END: 3, "b": 2}
    assert vocab.distinct_words == 7


def test_ties_are_broken_by_first_occurrence():
    assert Vocabulary.build(SENTENCES, 7).index_to_word[4:] == ["c", "d", UNKNOWN_TOKEN]
    swapped = [[SENTENCE_START, "b", "a", "d", SENTENCE_END], [SENTENCE_START, "a", "c", "b", SENTENCE_END]]
    swapped.append(SENTENCES[2])
    assert Vocabulary.build(swapped, 7).index_to_word[4:] == ["d", "c", UNKNOWN_TOKEN]


def test_sentence_tokens_are_kept_even_when_other_words_are_more_common():
    sentences = [[SENTENCE_START, "x", "x", "y", "y", SENTENCE_END]] * 2
    assert Vocabulary.build(sentences, 3).index_to_word == [SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN]
    assert Vocabulary.build(sentences, 4).index_to_word == ["x", SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN]
    bare = Vocabulary.build([["x", "y", "x"]], 3)  # tokens without sentence markers
    assert bare.index_to_word == [SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN]
    assert bare.counts == {SENTENCE_START: 0, SENTENCE_END: 0}


def test_a_size_larger_than_the_corpus_keeps_every_word():
    vocab = Vocabulary.build(SENTENCES, 100)
    assert len(vocab) == 8 and vocab.index_to_word[-1] == UNKNOWN_TOKEN
    assert vocab.least_frequent() == ("e", 1)


def test_an_unknown_token_in_the_corpus_stays_last():
    vocab = Vocabulary.build([[SENTENCE_START, UNKNOWN_TOKEN, UNKNOWN_TOKEN, "a", SENTENCE_END]], 10)
    assert vocab.index_to_word == [SENTENCE_START, "a", SENTENCE_END, UNKNOWN_TOKEN]


def test_bad_vocabulary_sizes_and_corpora():
    with pytest.raises(ValueError, match="at least 3"):
        Vocabulary.build(SENTENCES, 2)
    with pytest.raises(TypeError, match="integer"):
        Vocabulary.build(SENTENCES, 3.5)
    for empty in ([], [[]], [[UNKNOWN_TOKEN]]):
        with pytest.raises(ValueError, match="empty corpus"):
            Vocabulary.build(empty, 10)
    with pytest.raises(TypeError, match="tokenize"):
        Vocabulary.build(["a raw sentence"], 10)
    with pytest.raises(TypeError, match="strings"):
        Vocabulary.build([[SENTENCE_START, 3]], 10)


def test_encode_decode_round_trip_and_unknown_words():
    vocab = Vocabulary.build(SENTENCES, 5)
    ids = vocab.encode([SENTENCE_START, "a", "zebra", SENTENCE_END])
    assert ids.dtype == np.int32 and list(ids) == [0, 1, 4, 2]
    assert vocab.decode(ids) == [SENTENCE_START, "a", UNKNOWN_TOKEN, SENTENCE_END]
    known = [SENTENCE_START, "b", "a", SENTENCE_END]
    assert vocab.decode(vocab.encode(known)) == known
    assert vocab.decode([]) == [] and vocab.encode([]).dtype == np.int32


def test_encode_and_decode_refuse_bad_input():
    vocab = Vocabulary.build(SENTENCES, 5)
    with pytest.raises(ValueError, match="index 5 is outside the vocabulary"):
        vocab.decode([0, 5])
    with pytest.raises(ValueError, match="outside"):
        vocab.decode(np.array([-1]))
    with pytest.raises(TypeError, match="integers"):
        vocab.decode([0.5])
    with pytest.raises(ValueError, match="one-dimensional"):
        vocab.decode([[0, 1]])
    with pytest.raises(TypeError, match="not a string"):
        vocab.encode("a b")
    with pytest.raises(TypeError, match="strings"):
        vocab.encode([0, 1])


def test_vocabulary_json_round_trip(tmp_path):
    vocab = Vocabulary.build(SENTENCES + [[SENTENCE_START, "café", "café", SENTENCE_END]], 6)
    vocab.save(tmp_path / "v.json")
    again = Vocabulary.load(tmp_path / "v.json")
    assert again.index_to_word == vocab.index_to_word and "café" in again
    assert again.counts == vocab.counts and again.distinct_words == vocab.distinct_words
    assert again.least_frequent() == vocab.least_frequent()


GOOD = {"format": "aerann-vocabulary", "version": 1,
        "index_to_word": [SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN],
        "counts": {SENTENCE_START: 1, SENTENCE_END: 1}, "distinct_words": 2}


@pytest.mark.parametrize(
    "content",
    [
        b"{not json",
        b"\xff\xfe\x00",
        b"[1, 2]",
        json.dumps({**GOOD, "format": "other"}).encode(),
        json.dumps({**GOOD, "version": 7}).encode(),
        json.dumps({**GOOD, "index_to_word": "abc"}).encode(),
        json.dumps({**GOOD, "index_to_word": [SENTENCE_START, SENTENCE_START, SENTENCE_END, UNKNOWN_TOKEN]}).encode(),
        json.dumps({**GOOD, "index_to_word": [SENTENCE_START, UNKNOWN_TOKEN, SENTENCE_END]}).encode(),
        json.dumps({**GOOD, "index_to_word": ["a", UNKNOWN_TOKEN], "counts": {}}).encode(),
        json.dumps({**GOOD, "index_to_word": [SENTENCE_START, SENTENCE_END, 3, UNKNOWN_TOKEN]}).encode(),
        json.dumps({**GOOD, "counts": {SENTENCE_START: "many", SENTENCE_END: 1}}).encode(),
        json.dumps({**GOOD, "counts": {SENTENCE_START: 1}}).encode(),
        json.dumps({**GOOD, "distinct_words": 1}).encode(),
    ],
)
def test_a_corrupt_vocabulary_file_is_refused_naming_the_file(tmp_path, content):
    path = tmp_path / "v.json"
    path.write_text(json.dumps(GOOD))
    assert len(Vocabulary.load(path)) == 3  # the valid base file loads
    path.write_bytes(content)
    with pytest.raises(ValueError, match="v.json"):
        Vocabulary.load(path)


def test_training_data_shifts_by_one_and_skips_sentences_with_nothing_to_predict():
    vocab = Vocabulary.build(SENTENCES, 5)
    X, Y = training_data(SENTENCES + [[SENTENCE_START], []], vocab)
    assert len(X) == len(Y) == 3
    for x, y, sentence in zip(X, Y, SENTENCES):
        assert x.dtype == np.int32 and y.dtype == np.int32
        assert list(x) == list(vocab.encode(sentence)[:-1]) and list(y) == list(vocab.encode(sentence)[1:])
        assert list(x[1:]) == list(y[:-1])
    assert vocab.decode(X[2]) == [SENTENCE_START, UNKNOWN_TOKEN, "a"]
    with pytest.raises(ValueError, match="empty"):
        training_data([[SENTENCE_START]], vocab)
    with pytest.raises(ValueError, match="empty"):
        training_data([], vocab)
    with pytest.raises(TypeError, match="Vocabulary"):
        training_data(SENTENCES, {"a": 0})


def test_comments_csv_like_the_tutorials(tmp_path):
    path = tmp_path / "reddit.csv"
    path.write_text(
        'id,body,score\n1,"Hello World. This is GREAT!",5\n2,"multi\nline comment here",1\n3,,0\n'
        '4,"Next comment.",2\n',
        encoding="utf-8",
    )
    sentences = read_comments_csv(path)
    assert sentences == [
        [SENTENCE_START, "hello", "world", ".", SENTENCE_END],
        [SENTENCE_START, "this", "is", "great", "!", SENTENCE_END],
        [SENTENCE_START, "multi", "line", "comment", "here", SENTENCE_END],
        [SENTENCE_START, "next", "comment", ".", SENTENCE_END],
    ]
    assert read_comments_csv(path, lowercase=False)[1][3] == "GREAT"


def test_a_10_megabyte_single_line_field_is_read_and_the_csv_limit_restored(tmp_path):
    path = tmp_path / "big.csv"
    word = "w" * 99  # long words: the tokenizer's cost is mostly per token
    path.write_text('body\n"' + f"{word} " * 100_000 + 'end."\n', encoding="utf-8")
    assert path.stat().st_size > 10_000_000
    limit = csv.field_size_limit()
    sentences = read_comments_csv(path)
    assert csv.field_size_limit() == limit
    words = [w for s in sentences for w in s[1:-1]]
    assert words.count(word) == 100_000 and words[-2:] == ["end", "."]


@pytest.mark.parametrize(
    "content, words",
    [
        (b"", "empty"),
        (b" \n\n", "empty"),
        (b"id,text\n1,hello there.\n", "no 'body' column"),
        (b"body\x00\x01\x02binary", "binary"),
        (b"body\n\xff\xfe caf\xe9\n", "not valid UTF-8"),
        (b"body\n,\n", "no sentences"),
    ],
)
def test_bad_csv_files_get_a_clear_error_naming_the_file(tmp_path, content, words):
    path = tmp_path / "comments.csv"
    path.write_bytes(content)
    with pytest.raises(ValueError, match=words) as error:
        read_comments_csv(path)
    assert "comments.csv" in str(error.value)


def test_plain_text_reader(tmp_path):
    path = tmp_path / "poem.txt"
    path.write_text("\ufeffRoses are red. Violets are blue.\n\nThe End\n", encoding="utf-8")
    assert read_text(path) == [
        [SENTENCE_START, "roses", "are", "red", ".", SENTENCE_END],
        [SENTENCE_START, "violets", "are", "blue", ".", SENTENCE_END],
        [SENTENCE_START, "the", "end", SENTENCE_END],
    ]
    path.write_text("   \n", encoding="utf-8")
    with pytest.raises(ValueError, match="empty"):
        read_text(path)
    path.write_bytes(b"caf\xe9")
    with pytest.raises(ValueError, match="not valid UTF-8"):
        read_text(path)


def test_nltk_is_imported_by_the_first_tokenisation_not_by_aerann():
    import subprocess
    import sys

    code = ("import sys, aerann, aerann.cli, aerann.data.text as text\n"
            "print('before', 'nltk' in sys.modules)\n"
            "print(text.tokenize_words(\"Don't stop.\"), 'nltk' in sys.modules)\n")
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert done.stdout.splitlines() == ["before False", "['Do', \"n't\", 'stop', '.'] True"]
