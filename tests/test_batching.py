"""Padding, masks and length buckets (time-major)."""

import numpy as np
import pytest

from aerann.data import batching


def test_pad_is_time_major_with_a_mask_of_real_steps():
    X, mask = batching.pad([np.array([1, 2, 3]), np.array([4])])
    assert X.shape == (3, 2) and mask.shape == (3, 2)
    np.testing.assert_array_equal(X[:, 0], [1, 2, 3])
    np.testing.assert_array_equal(X[:, 1], [4, 0, 0])
    np.testing.assert_array_equal(mask, [[1, 1], [1, 0], [1, 0]])


def test_pad_keeps_trailing_feature_axes_and_honours_length_and_dtype():
    X, mask = batching.pad([np.ones((2, 3)), np.ones((1, 3))], length=4, dtype=np.float32)
    assert X.shape == (4, 2, 3) and X.dtype == np.float32
    assert X[1:, 1].sum() == 0 and X[:2, 0].sum() == 6
    np.testing.assert_array_equal(mask.sum(axis=0), [2, 1])


@pytest.mark.parametrize(
    "sequences, length, message",
    [
        ([], None, "empty"),
        ([np.ones(3)], 2, "shorter"),
        ([np.ones((2, 3)), np.ones((2, 4))], None, "same shape"),
    ],
)
def test_pad_rejects_bad_input(sequences, length, message):
    with pytest.raises(ValueError, match=message):
        batching.pad(sequences, length)


def test_bucket_length_picks_the_smallest_bucket_that_fits():
    assert batching.bucket_length(5, (8, 16)) == 8
    assert batching.bucket_length(8, (16, 8)) == 8
    assert batching.bucket_length(9, (8, 16)) == 16
    assert batching.bucket_length(20, (8, 16)) == 20
    assert batching.bucket_length(3, None) == 3


def test_minibatches_cover_every_item_once_and_group_similar_lengths():
    lengths = [1, 30, 2, 29, 3, 31, 4, 28]
    batches = batching.minibatches(len(lengths), lengths, 4, np.random.default_rng(0), buckets=(8, 32))
    flat = sorted(i for batch in batches for i in batch)
    assert flat == list(range(len(lengths)))
    for batch in batches:
        assert len({batching.bucket_length(lengths[i], (8, 32)) for i in batch}) == 1


def test_minibatches_are_reproducible_and_ordered_without_an_rng():
    lengths = [3, 1, 2, 5, 4]
    first = batching.minibatches(5, lengths, 2, np.random.default_rng(7))
    again = batching.minibatches(5, lengths, 2, np.random.default_rng(7))
    assert first == again
    assert batching.minibatches(3, [1, 1, 1], 2) == [[0, 1], [2]]


def test_minibatches_reject_a_batch_size_below_one():
    with pytest.raises(ValueError, match="batch_size"):
        batching.minibatches(3, [1, 2, 3], 0)
