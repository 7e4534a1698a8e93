"""The MPD renderer on its own (app/services/playback/dash_manifest.py): Periods, the timeline and
what a DASH schema reader needs, from segments made up here."""

from __future__ import annotations

from xml.etree import ElementTree

from app.services.archive.archive_index import Segment
from app.services.archive.archive_layout import RunInfo
from app.services.archive.media_info import DEFAULT_MEDIA_INFO
from app.services.playback.dash_manifest import MpdSpec, periods_of, render_mpd, xs_duration

T0 = 1_800_000_000.0
NS = {"m": "urn:mpeg:dash:schema:mpd:2011"}


def _run(run_id: str, anchor: float, kid: str | None) -> RunInfo:
    return RunInfo(run_id, "ch1", anchor, 6, kid, anchor, 600, 0.0)


def _segs(
    run: RunInfo, rendition: str, seqs: range, durations: dict[int, float] | None = None
) -> list[Segment]:
    durations = durations or {}
    return [
        Segment(run.anchor + 6 * k, durations.get(k, 6.0), run, rendition, k, 20270115080000 + k)
        for k in seqs
    ]


def test_periods_split_at_runs_and_holes_and_take_each_renditions_segments() -> None:
    a, b = _run("r1800000000000", T0, "aa" * 16), _run("r1800000100000", T0 + 100, "bb" * 16)
    # Run A loses its segment 3 (a hole inside a run); run B follows after an outage.
    video = _segs(a, "video", range(3)) + _segs(a, "video", range(4, 6)) + _segs(b, "video", range(2))
    audio = _segs(a, "audio", range(6), {k: 6.016 for k in range(6)}) + _segs(b, "audio", range(2))
    periods = periods_of(video, {"video": video, "audio": audio}, [DEFAULT_MEDIA_INFO], "audio")
    assert [p.start - T0 for p in periods] == [0, 24, 100]
    assert [p.kid for p in periods] == ["aa" * 16, "aa" * 16, "bb" * 16]
    assert len({p.id for p in periods}) == 3
    assert [len(p.video[0][1]) for p in periods] == [3, 2, 2]
    # The audio segment in the video's hole goes with the stretch before it.
    assert [len(p.audio) for p in periods] == [4, 2, 2]


def test_the_timeline_folds_equal_durations_and_the_first_period_may_start_inside_a_segment() -> None:
    run = _run("r1800000000000", T0, None)
    video = _segs(run, "video", range(4), {3: 2.5})
    # The presentation (a programme) begins 3 s into the run's first segment.
    periods = periods_of(video, {"video": video, "audio": []}, [DEFAULT_MEDIA_INFO], "audio", T0 + 3)
    spec = MpdSpec(dynamic=False, origin=T0 + 3, published=T0, max_segment_duration=6, end=T0 + 20.5)
    root = ElementTree.fromstring(render_mpd(spec, periods, lambda path: f"https://cdn/{path}?e=1&s=x"))
    assert root.get("type") == "static" and root.get("mediaPresentationDuration") == "PT17.5S"
    (period,) = root.findall("m:Period", NS)
    assert period.get("start") == "PT0S"
    assert not period.findall(".//m:ContentProtection", NS), "no KID, no encryption"
    (seg_list,) = period.findall(".//m:Representation[@id='video']/m:SegmentList", NS)
    assert seg_list.get("presentationTimeOffset") == "3000000"
    s = [dict(e.attrib) for e in seg_list.findall("m:SegmentTimeline/m:S", NS)]
    assert s == [{"t": "0", "d": "6000000", "r": "2"}, {"d": "2500000"}]
    urls = [u.get("media") for u in seg_list.findall("m:SegmentURL", NS)]
    assert urls[0] == "https://cdn/ch1/r1800000000000/video/20270115T080000_000000_6000000.m4s?e=1&s=x"
    assert not period.findall("m:AdaptationSet[@contentType='audio']", NS), "no audio, no audio set"


def test_durations_are_exact_to_the_microsecond() -> None:
    assert xs_duration(6) == "PT6S"
    assert xs_duration(1.5) == "PT1.5S"
    assert xs_duration(6.011333) == "PT6.011333S"
    assert xs_duration(1_796_119_200) == "PT1796119200S"
