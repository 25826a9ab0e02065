"""aerann.data.validation: bad input is refused with a message that names it, good input passes unchanged."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from aerann.data.validation import as_index_sequence, check_dataset, check_pair, finite_float, positive_int


@given(st.integers(1, 50).flatmap(lambda n: st.tuples(st.just(n), st.lists(st.integers(0, n - 1), min_size=1))))
def test_valid_index_lists_become_int32_arrays_with_the_same_values(case):
    vocab_size, indices = case
    array = as_index_sequence(indices, vocab_size)
    assert array.dtype == np.int32
    assert array.tolist() == indices


@given(st.integers(1, 50), st.lists(st.integers(0, 200), min_size=1), st.integers(-5, -1))
def test_every_out_of_range_index_is_named(vocab_size, indices, negative):
    for bad in (vocab_size + max(indices), negative):
        with pytest.raises(ValueError, match=rf"index {bad}, outside the vocabulary \[0, {vocab_size}\)"):
            as_index_sequence([*indices, bad], vocab_size)


@pytest.mark.parametrize("dtype", [np.int8, np.uint16, np.int64, np.uint64])
def test_integer_arrays_of_any_width_are_accepted(dtype):
    np.testing.assert_array_equal(as_index_sequence(np.array([0, 3, 9], dtype=dtype), 10), [0, 3, 9])


@pytest.mark.parametrize(
    "seq, error, words",
    [
        ([], ValueError, "seq is empty"),
        (np.zeros(0, dtype=np.int32), ValueError, "seq is empty"),
        (3, ValueError, "single value"),
        ([[1, 2], [3, 4]], ValueError, r"shape \(2, 2\)"),
        ([[1, 2], [3]], TypeError, "seq must be a sequence of token indices"),
        ([1.0, 2.0], TypeError, "float64"),
        ([True, False], TypeError, "bool"),
        ([1, None], TypeError, "found None"),
        ([1, "2"], TypeError, "integer token indices"),
        ("hello", TypeError, "not a str"),
        (b"\x01", TypeError, "not a bytes"),
        ([2**70], ValueError, f"index {2**70}, outside"),
        ([2**70, 1.5], TypeError, "found 1.5"),
    ],
)
def test_bad_sequences_get_a_clear_error(seq, error, words):
    with pytest.raises(error, match=words):
        as_index_sequence(seq, 10, name="seq")


def test_the_vocabulary_size_itself_is_checked():
    with pytest.raises(ValueError, match="vocab_size"):
        as_index_sequence([0], 0)
    with pytest.raises(TypeError, match="vocab_size"):
        as_index_sequence([0], 2.0)


def test_pairs_must_have_equal_lengths_and_both_are_checked():
    x, y = check_pair([1, 2], (2, 3), 5)
    assert x.tolist() == [1, 2] and y.tolist() == [2, 3]
    with pytest.raises(ValueError, match="x and y must have the same length, got 2 and 3"):
        check_pair([1, 2], [2, 3, 4], 5)
    with pytest.raises(ValueError, match="y holds token index 7"):
        check_pair([1, 2], [2, 7], 5)


def test_datasets_name_the_bad_sentence():
    X, Y = check_dataset([[0, 1], [2]], [[1, 2], [3]], 4)
    assert [x.tolist() for x in X] == [[0, 1], [2]] and [y.tolist() for y in Y] == [[1, 2], [3]]
    with pytest.raises(ValueError, match=r"X\[1\] and Y\[1\] must have the same length"):
        check_dataset([[0, 1], [2]], [[1, 2], [3, 0]], 4)
    with pytest.raises(ValueError, match=r"Y\[0\] holds token index 9"):
        check_dataset([[0, 1]], [[1, 9]], 4)
    with pytest.raises(ValueError, match="the dataset is empty"):
        check_dataset([], [], 4)
    with pytest.raises(ValueError, match="2 input sequences but 1 target"):
        check_dataset([[0], [1]], [[1]], 4)
    with pytest.raises(ValueError, match=r"X\[0\] must be a one-dimensional sequence"):
        check_dataset([0, 1], [1, 2], 4)  # one sentence passed where a list of sentences belongs
    with pytest.raises(TypeError, match="X must be a list of token index sequences"):
        check_dataset(iter([[0]]), [[1]], 4)


def test_numbers():
    assert positive_int(np.int64(3), "n") == 3 and type(positive_int(np.int64(3), "n")) is int
    assert finite_float(np.float32(0.5), "lr") == 0.5 and finite_float(2, "lr") == 2.0
    for bad, error in [(0, ValueError), (-2, ValueError), (1.0, TypeError), (True, TypeError), ("3", TypeError)]:
        with pytest.raises(error, match="n must"):
            positive_int(bad, "n")
    for bad, error in [(float("nan"), ValueError), (float("inf"), ValueError), ("0.1", TypeError), (None, TypeError)]:
        with pytest.raises(error, match="lr must"):
            finite_float(bad, "lr")
