"""The threads that run pipeline stages ahead of each other (ingestion/pipeline/prefetch.py)."""

import threading

import pytest

from ingestion.pipeline.prefetch import Prefetcher


def test_chained_stages_give_every_item_in_order():
    with (
        Prefetcher(iter(range(100)), name="first") as first,
        Prefetcher((n * 2 for n in first), name="second") as second,
    ):
        assert list(second) == [n * 2 for n in range(100)]


def test_an_error_in_an_earlier_stage_is_raised_where_items_are_consumed():
    def decode():
        yield 1
        raise ValueError("damaged at frame 2")

    with Prefetcher(decode()) as frames, Prefetcher(n + 1 for n in frames) as detected:
        iterator = iter(detected)
        assert next(iterator) == 2
        with pytest.raises(ValueError, match="damaged at frame 2"):
            next(iterator)


def test_leaving_early_stops_the_threads_of_an_endless_stage():
    def endless():
        n = 0
        while True:
            yield n
            n += 1

    before = threading.active_count()
    with Prefetcher(endless(), depth=2) as items:
        assert next(iter(items)) == 0
    assert threading.active_count() == before
