"""Debounce, backoff and resync arithmetic of the reconciler."""

from __future__ import annotations

from kyma_connectors.reconciler.schedule import Schedule


def schedule() -> Schedule:
    return Schedule(debounce=1.0, max_delay=5.0, resync=300.0, retry_max=60.0)


def test_a_burst_is_acted_on_once_it_is_quiet() -> None:
    s = schedule()
    for i in range(50):
        s.changed(100.0 + i * 0.01)
    assert not s.due(100.9)
    assert s.due(101.5)
    s.succeeded(101.5)
    assert not s.due(102.0)
    assert s.wait(102.0) == 299.5


def test_changes_that_never_stop_still_get_through_after_max_delay() -> None:
    s = schedule()
    t = 0.0
    while t < 5.0:
        s.changed(t)
        assert not s.due(t)
        t += 0.5
    assert s.due(5.0)


def test_failures_back_off_and_changes_wait_for_the_retry() -> None:
    s = schedule()
    s.changed(0.0)
    assert s.failed(1.0) == 1.0
    s.changed(1.1)
    assert not s.due(1.5)
    assert s.due(2.0)
    assert s.failed(2.0) == 2.0
    assert s.failed(4.0) == 4.0
    for _ in range(10):
        s.failed(10.0)
    assert s.retry_at == 70.0  # capped at retry_max


def test_a_rate_limit_reset_is_honoured() -> None:
    s = schedule()
    s.changed(0.0)
    assert s.failed(1.0, not_before=900.0) == 899.0
    assert not s.due(899.0)
    assert s.due(900.0)
    assert s.wait(10.0) == 890.0


def test_resync_runs_without_changes() -> None:
    s = schedule()
    s.succeeded(0.0)
    assert not s.due(299.0)
    assert s.due(300.0)


def test_soon_brings_the_next_look_forward_but_never_back() -> None:
    s = schedule()
    s.succeeded(0.0)
    s.soon(0.0, 10.0)
    assert not s.due(9.0)
    assert s.due(10.0)
    s.succeeded(10.0)
    s.soon(10.0, 500.0)  # later than the resync: the resync stays
    assert s.due(310.0)
