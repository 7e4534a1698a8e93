"""Segment files and bytes of a channel's archive for the encoder status and /metrics, kept up to
date from FFmpeg's own short playlists instead of rescanning the channel directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from app.services.archive import archive_layout as layout


@dataclass
class Counters:
    """Segment files and bytes of a channel's archive, kept up to date without rescanning it."""

    segments: int = 0
    bytes: int = 0
    written: int = 0  # segments this backend saw its encoders write (the scan at start-up aside)
    # (run_id, rendition) -> highest segment seq already counted
    seen: dict[tuple[str, str], int] = field(default_factory=dict)
    init_counted: set[tuple[str, str]] = field(default_factory=set)

    def add_scan(self, scanned: Counters) -> None:
        """Merge a start-up scan: anything counted meanwhile by a running encoder is kept."""
        for k, seq in scanned.seen.items():
            self.seen[k] = max(seq, self.seen.get(k, -1))
        self.init_counted |= scanned.init_counted
        self.segments += scanned.segments
        self.bytes += scanned.bytes


def _scan_run(c: Counters, run: os.DirEntry[str]) -> None:
    info = layout.read_run_info(Path(run.path))
    for rendition in info.renditions if info is not None else layout.RENDITIONS:
        init_name = info.init_name(rendition) if info is not None else layout.INIT_NAMES[rendition]
        best = -1
        try:
            entries = list(os.scandir(os.path.join(run.path, rendition)))
        except FileNotFoundError:
            continue
        for e in entries:
            try:
                size = e.stat().st_size
            except FileNotFoundError:
                continue
            seg = layout.parse_segment_name(e.name)
            if seg is not None:
                c.segments += 1
                c.bytes += size
                best = max(best, seg.seq)
            elif e.name == init_name:
                c.bytes += size
                c.init_counted.add((run.name, rendition))
        c.seen[(run.name, rendition)] = best


def scan_channel(cdir: Path) -> Counters:
    """One full scan (at start-up only)."""
    c = Counters()
    try:
        runs = [e for e in os.scandir(cdir) if e.is_dir() and layout.RUN_ID_RE.match(e.name)]
    except FileNotFoundError:
        return c
    for run in runs:
        _scan_run(c, run)
    return c


def _count_rendition(c: Counters, rdir: Path, run: layout.RunInfo, rendition: str) -> bool:
    if (run.run_id, rendition) not in c.init_counted:
        try:
            c.bytes += (rdir / run.init_name(rendition)).stat().st_size
            c.init_counted.add((run.run_id, rendition))
        except FileNotFoundError:
            pass
    try:
        text = (rdir / layout.PLAYLIST_NAME).read_text()
    except OSError:
        return False
    last = c.seen.get((run.run_id, rendition), -1)
    best = last
    for line in text.splitlines():
        if not line or line.startswith("#"):
            continue
        seg = layout.parse_segment_name(line.strip())
        if seg is None or seg.seq <= last:
            continue
        try:
            size = (rdir / line.strip()).stat().st_size
        except FileNotFoundError:
            continue
        c.segments += 1
        c.written += 1
        c.bytes += size
        best = max(best, seg.seq)
    if best > last:
        c.seen[(run.run_id, rendition)] = best
        return True
    return False


def count_new_segments(c: Counters, run_dir: Path, run: layout.RunInfo) -> bool:
    """Count a run's new segments from FFmpeg's own short playlists (two tiny reads); any new?"""
    grew = False
    for rendition in run.renditions:
        grew = _count_rendition(c, run_dir / rendition, run, rendition) or grew
    return grew
