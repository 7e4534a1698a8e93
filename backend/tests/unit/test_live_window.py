"""Where a live playlist begins (`live_window_start`): pure, no processes."""

from __future__ import annotations

from app.services.playback.manifest_generator import live_window_start

WINDOW = (1000.0, 2800.0)


def test_a_window_without_holes_begins_where_asked() -> None:
    assert live_window_start([(0, 3000)], *WINDOW, 6) == 1000


def test_runs_that_meet_or_overlap_are_one_stretch() -> None:
    # A restart or key rotation starts the new run before the old one stops.
    spans = [(0, 1500), (1499.5, 2000), (2000.1, 2800)]
    assert live_window_start(spans, *WINDOW, 6) == 1000


def test_a_long_hole_moves_the_start_to_the_run_after_it() -> None:
    assert live_window_start([(900, 1600), (2500, 2800)], *WINDOW, 6) == 2500


def test_short_holes_stay_until_together_they_exceed_the_limit() -> None:
    spans = [(900, 1600), (1603, 2000), (2004, 2800)]  # holes of 3 s and 4 s
    assert live_window_start(spans, *WINDOW, 10) == 1000
    assert live_window_start(spans, *WINDOW, 6) == 1603  # 4 s alone pass, 7 s together do not


def test_only_holes_inside_the_window_count() -> None:
    # The hole before the window, and the time since the last segment (an encoder stopped), are not
    # between listed segments.
    assert live_window_start([(0, 500), (990, 2000)], *WINDOW, 6) == 1000
    assert live_window_start([], *WINDOW, 6) == 1000
