"""The soak's pure parts (bench/soak_stats.py, bench/soak_hls.py): the viewing mix, percentiles and the
summary per request kind, the verdict of a --find-max step, the run's sanity check, and the HLS the
simulated viewers read."""

from __future__ import annotations

import random

import pytest

from bench.soak_hls import kid_of_key_uri, parse_master, parse_media, playback_token
from bench.soak_stats import (
    MixError,
    Recorder,
    find_max_steps,
    misconfigured,
    parse_mix,
    percentile,
    pick_mode,
    step_verdict,
    table,
)


def test_a_mix_is_normalised_and_modes_left_out_get_nothing() -> None:
    assert parse_mix("live=50,startover=25,catchup=25") == {"live": 0.5, "startover": 0.25, "catchup": 0.25}
    assert parse_mix("live=1, catch-up=3") == {"live": 0.25, "startover": 0.0, "catchup": 0.75}


@pytest.mark.parametrize("text", ["", "live=0", "vod=10", "live", "live=x", "live=-1", "live=nan"])
def test_a_mix_that_cannot_be_used_is_refused(text: str) -> None:
    with pytest.raises(MixError):
        parse_mix(text)


def test_modes_are_picked_by_their_share_and_never_with_no_share() -> None:
    rng = random.Random(1)
    picks = [pick_mode({"live": 0.75, "startover": 0.0, "catchup": 0.25}, rng) for _ in range(4000)]
    assert "startover" not in picks
    assert 0.72 < picks.count("live") / len(picks) < 0.78


def test_percentiles_interpolate_between_ranks() -> None:
    values = [float(v) for v in range(1, 101)]
    assert percentile(values, 0.5) == pytest.approx(50.5)
    assert percentile(values, 0.95) == pytest.approx(95.05)
    assert percentile(values, 1.0) == 100.0
    assert percentile([7.0], 0.95) == 7.0
    assert percentile([], 0.95) == 0.0


def test_the_summary_counts_errors_by_status_and_a_missing_bookmark_is_no_error() -> None:
    rec = Recorder()
    for ms in range(1, 101):
        rec.add("media", 200, ms / 1000)
    rec.add("media", 503, 0.5)
    rec.add("media", "ReadTimeout", 10.0)
    rec.add("bookmark", 404, 0.002)
    rec.add("segment", 403, 0.001)
    s = rec.summary()
    assert list(s) == ["media", "segment", "bookmark"]  # the table's order, not arrival
    assert s["media"]["count"] == 102 and s["media"]["errors"] == 2
    assert s["media"]["statuses"] == {"200": 100, "503": 1, "ReadTimeout": 1}
    assert s["media"]["max_ms"] == 10000.0
    assert s["bookmark"]["errors"] == 0 and s["segment"]["errors"] == 1
    assert "| media | 102 | 2 |" in table(s)


def test_recorders_of_several_client_processes_merge_into_one() -> None:
    a, b, both = Recorder(), Recorder(), Recorder()
    for rec, status, seconds in ((a, 200, 0.01), (b, 200, 0.03), (b, 503, 0.2), (a, "ConnectError", 1.0)):
        rec.add("media", status, seconds)
        both.add("media", status, seconds)
    b.add("segment", 200, 0.002)
    both.add("segment", 200, 0.002)
    merged = Recorder()
    merged.merge(a.raw())
    merged.merge(b.raw())
    assert merged.summary() == both.summary()


def _summary(**p95: float) -> dict[str, dict[str, object]]:
    return {k: {"count": 100, "errors": 0, "p95_ms": v, "statuses": {"200": 100}} for k, v in p95.items()}


def test_a_step_fails_on_errors_or_slow_playlists_and_names_a_saturated_client() -> None:
    assert step_verdict(_summary(master=20, media=99, segment=500), 0.99, 0.3) == []
    slow = step_verdict(_summary(master=20, media=120), 0.97, 0.3)
    assert slow == ["media: p95 120 ms", "machine CPU 97 %"]
    failing = _summary(master=20, media=20)
    failing["licence"] = {"count": 10, "errors": 3, "p95_ms": 5.0, "statuses": {}}
    assert step_verdict(failing, 0.5, 0.3) == ["licence: 3 errors"]
    assert step_verdict(_summary(master=20), 0.5, 0.9)[0].startswith("client CPU 90 %")


def test_find_max_doubles_up_to_the_limit() -> None:
    assert find_max_steps(25, 400) == [25, 50, 100, 200, 400]
    assert find_max_steps(25, 399) == [25, 50, 100, 200]
    with pytest.raises(ValueError):
        find_max_steps(0, 10)


def test_a_run_without_the_requests_every_playback_makes_is_misconfigured() -> None:
    mix = {"live": 0.5, "startover": 0.25, "catchup": 0.25}
    kinds = ("login", "master", "media", "key", "licence", "segment", "session", "heartbeat")
    good = {k: {"count": 50, "errors": 0} for k in kinds}
    assert misconfigured(good, mix, 120) == []
    assert misconfigured({k: v for k, v in good.items() if k != "heartbeat"}, {"live": 1.0}, 120) == []
    assert misconfigured({**good, "segment": {"count": 50, "errors": 50}}, mix, 120) == [
        "no successful segment request",
        "segment: 50 of 50 failed",
    ]
    assert misconfigured({**good, "licence": {"count": 0, "errors": 0}}, mix, 120) == [
        "no successful licence request"
    ]


MASTER = """#EXTM3U
#EXT-X-MEDIA:TYPE=AUDIO,GROUP-ID="aud",NAME="Main",LANGUAGE="en",URI="audio.m3u8?pb=T"
#EXT-X-STREAM-INF:BANDWIDTH=700000,RESOLUTION=640x360,AUDIO="aud"
360p.m3u8?pb=T
#EXT-X-STREAM-INF:BANDWIDTH=250000,RESOLUTION=320x180,AUDIO="aud"
180p.m3u8?pb=T
"""

MEDIA = """#EXTM3U
#EXT-X-TARGETDURATION:6
#EXT-X-PLAYLIST-TYPE:VOD
#EXT-X-MAP:URI="http://cdn/hls/ch/r1/180p/init.mp4?e=1&s=a"
#EXT-X-KEY:METHOD=SAMPLE-AES-CTR,KEYFORMAT="identity",URI="/api/v1/drm/keys/0123456789abcdef0123456789ABCDEF/raw?pb=T"
#EXT-X-PROGRAM-DATE-TIME:2026-12-05T03:00:00.000+00:00
#EXTINF:6.000,
http://cdn/hls/ch/r1/180p/1.m4s?e=1&s=b
#EXTINF:5.5,
http://cdn/hls/ch/r1/180p/2.m4s?e=1&s=c
#EXT-X-ENDLIST
"""


def test_the_master_and_media_playlists_are_read_as_the_player_reads_them() -> None:
    m = parse_master(MASTER, "http://api/api/v1/tstv/live/x/manifest?pb=T")
    assert [v.bandwidth for v in m.variants] == [250000, 700000]
    assert m.variants[0].uri == "http://api/api/v1/tstv/live/x/180p.m3u8?pb=T"
    assert m.audio == "http://api/api/v1/tstv/live/x/audio.m3u8?pb=T"
    assert playback_token(m.variants[0].uri) == "T"
    media = parse_media(MEDIA, "http://api/api/v1/tstv/live/x/180p.m3u8?pb=T")
    assert media.ended and media.target == 6
    first, second = media.segments
    assert second.start - first.start == 6.0 and media.end() == first.start + 11.5
    assert first.init == "http://cdn/hls/ch/r1/180p/init.mp4?e=1&s=a"
    assert first.key == "http://api/api/v1/drm/keys/0123456789abcdef0123456789ABCDEF/raw?pb=T"
    assert kid_of_key_uri(first.key) == "0123456789abcdef0123456789abcdef"
