"""How a batch run cuts its files into tasks: guided self-scheduling (``task_sizes``)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from safespace.batch._run import task_sizes


@given(
    total=st.integers(0, 20_000),
    workers=st.integers(1, 64),
    most=st.integers(1, 1024),
)
def test_every_file_once_and_no_task_over_the_cap(total: int, workers: int, most: int) -> None:
    sizes = list(task_sizes(total, workers, most))
    assert sum(sizes) == total
    assert all(1 <= size <= most for size in sizes)
    assert sizes == sorted(sizes, reverse=True)  # large first, the small ones at the end
    assert len(sizes) >= min(total, workers)  # a small tree still reaches every worker


def test_large_tasks_while_much_is_left_and_small_ones_at_the_end() -> None:
    sizes = list(task_sizes(4000, 2, 256))
    assert sizes[:5] == [256] * 5
    assert max(sizes[-4:]) <= 256 // 8  # the last tasks are short: nobody waits long on them
    assert len(sizes) < 4000 // 64  # fewer tasks than fixed tasks of 64 (less per-task cost)


def test_a_small_tree_is_shared_among_the_workers() -> None:
    assert list(task_sizes(10, 2, 256)) == [3, 2, 2, 1, 1, 1]
    assert list(task_sizes(3, 2, 256)) == [1, 1, 1]
    assert list(task_sizes(0, 2, 256)) == []
