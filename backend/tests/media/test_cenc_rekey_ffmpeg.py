"""Re-keying FFmpeg's own CENC segments (app/services/archive/cenc_rekey.py, staging in
app/services/encoders/staging.py): what FFmpeg encrypted with the public placeholder key, re-keyed
to a real key, decodes with that key to exactly the frames and audio the placeholder version
decodes to; H.264 video (subsamples) and AAC audio (whole samples) alike."""

from __future__ import annotations

import stat
import struct
import subprocess
from pathlib import Path

import pytest

from app.services.archive import archive_layout as layout
from app.services.archive.cenc_rekey import PLACEHOLDER_KEY, PLACEHOLDER_KEY_HEX, rekey_segment
from app.services.encoders.staging import StagedRun, make_staging, staging_dir
from tests.media_factory import real_ffmpeg

KEY = bytes.fromhex("00112233445566778899aabbccddeeff")
KID = "0123456789abcdef0123456789abcdef"
RENDITIONS = ("video", "audio")


def _encode(out: Path) -> None:
    """Four seconds of test picture and tone, one rendition per track (docs/MEDIA.md, M3),
    encrypted with the placeholder key as the encoders do; two-second segments."""
    args = [real_ffmpeg(), "-hide_banner", "-loglevel", "error"]
    args += ["-f", "lavfi", "-i", "testsrc=size=320x180:rate=25", "-f", "lavfi", "-i", "sine=f=440:r=48000"]
    args += ["-t", "4", "-map", "0:v", "-map", "1:a", "-c:v", "libx264", "-preset", "ultrafast", "-g", "25"]
    args += ["-c:a", "aac", "-f", "hls", "-hls_time", "2", "-hls_segment_type", "fmp4"]
    args += ["-hls_flags", "temp_file", "-var_stream_map", "v:0,name:video a:0,name:audio"]
    args += ["-hls_fmp4_init_filename", "init.mp4", "-hls_segment_options"]
    args += [f"encryption_scheme=cenc-aes-ctr:encryption_key={PLACEHOLDER_KEY_HEX}:encryption_kid={KID}"]
    args += ["-hls_segment_filename", f"{out}/%v/20261205T000000_%06d_2000000.m4s", f"{out}/%v/index.m3u8"]
    subprocess.run(args, check=True, capture_output=True)


def _decoded(init: Path, segment: Path, key: bytes) -> list[str]:
    """Per-frame MD5 of what FFmpeg decodes from init + segment with `key`."""
    args = [real_ffmpeg(), "-hide_banner", "-loglevel", "error", "-decryption_key", key.hex()]
    args += ["-i", f"concat:{init}|{segment}", "-f", "framemd5", "-"]
    out = subprocess.run(args, check=True, capture_output=True, text=True).stdout
    return [ln.rsplit(",", 1)[-1].strip() for ln in out.splitlines() if not ln.startswith("#")]


def _senc_flags(segment: bytes) -> int:
    at = segment.index(b"senc")
    flags: int = struct.unpack_from(">I", segment, at + 4)[0] & 0xFFFFFF
    return flags


@pytest.fixture(scope="module")
def staged(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("ffmpeg-cenc")
    _encode(out)
    return out


def _segments(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if layout.parse_segment_name(p.name))


@pytest.mark.parametrize(
    ("rendition", "init", "subsamples"), [("video", "init_0.mp4", True), ("audio", "init_1.mp4", False)]
)
def test_rekeyed_segments_decode_like_the_placeholder_ones(
    staged: Path, tmp_path: Path, rendition: str, init: str, subsamples: bool
) -> None:
    segments = _segments(staged / rendition)
    assert len(segments) >= 2
    for segment in segments:
        data = segment.read_bytes()
        assert bool(_senc_flags(data) & 0x2) is subsamples
        archived = rekey_segment(data, PLACEHOLDER_KEY, KEY)
        assert archived != data
        target = tmp_path / segment.name
        target.write_bytes(archived)
        frames = _decoded(staged / rendition / init, segment, PLACEHOLDER_KEY)
        assert frames and _decoded(staged / rendition / init, target, KEY) == frames
        # Real key -> placeholder -> real key: byte-identical.
        assert rekey_segment(rekey_segment(archived, KEY, PLACEHOLDER_KEY), PLACEHOLDER_KEY, KEY) == archived


def test_a_staged_run_lands_in_the_archive_layout(tmp_path: Path) -> None:
    """FFmpeg writes into the private staging folder; `finish` leaves the archive's layout:
    init segments as written, segments re-keyed under their names, FFmpeg's playlists."""
    run_dir = tmp_path / "r0000000000001"
    for r in RENDITIONS:
        (run_dir / r).mkdir(parents=True)
    stage = make_staging(run_dir, RENDITIONS)
    assert stat.S_IMODE(stage.stat().st_mode) == 0o700
    assert all(stat.S_IMODE((stage / r).stat().st_mode) == 0o700 for r in RENDITIONS)
    _encode(stage)
    staged_copy = {r: {p.name: p.read_bytes() for p in _segments(stage / r)} for r in RENDITIONS}
    run = StagedRun(run_dir, RENDITIONS, KEY)
    assert run.finish()
    assert not staging_dir(run_dir).exists()
    for r, init in (("video", "init_0.mp4"), ("audio", "init_1.mp4")):
        names = sorted(staged_copy[r])
        assert [p.name for p in _segments(run_dir / r)] == names
        assert (run_dir / r / init).exists()
        listed = [
            ln for ln in (run_dir / r / layout.PLAYLIST_NAME).read_text().splitlines() if ln.endswith(".m4s")
        ]
        assert listed == names
        for name in names:
            assert (run_dir / r / name).read_bytes() == rekey_segment(
                staged_copy[r][name], PLACEHOLDER_KEY, KEY
            )
        assert not [p.name for p in (run_dir / r).iterdir() if p.name.startswith(".")]  # no temp files
