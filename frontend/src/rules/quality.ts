// The bitrate ladder as the viewer sees it: the quality menu's choices and the stats overlay's
// words. Pure: the player wrapper hands in what Shaka reports.

/** A video rendition of the ladder, as Shaka lists its variants. */
export interface VariantLike {
  id: number;
  height: number | null;
  width: number | null;
  bandwidth: number;
  videoBandwidth: number | null;
  active: boolean;
}

export interface Rung {
  /** A Shaka variant id of this rung (there is one variant per rung: one audio rendition). */
  variantId: number;
  height: number;
  width: number;
  bandwidth: number;
  label: string;
}

/** "auto", or the height of the rung the viewer chose. */
export type QualityChoice = 'auto' | number;

/** One entry per rung, best first (as quality menus list them). Variants without a picture size
 * (audio-only) are left out; two variants of one height keep the lower bandwidth. */
export function rungsOf(variants: readonly VariantLike[]): Rung[] {
  const byHeight = new Map<number, Rung>();
  for (const v of variants) {
    if (!v.height || !v.width) continue;
    const rung = { variantId: v.id, height: v.height, width: v.width, bandwidth: v.bandwidth, label: `${v.height}p` };
    const known = byHeight.get(v.height);
    if (!known || v.bandwidth < known.bandwidth) byHeight.set(v.height, rung);
  }
  return [...byHeight.values()].sort((a, b) => b.height - a.height);
}

/** The rung playing now, if Shaka says which. */
export function activeRung(variants: readonly VariantLike[]): Rung | null {
  const active = variants.find((v) => v.active && v.height);
  if (!active) return null;
  return rungsOf(variants).find((r) => r.height === active.height) ?? null;
}

/** "2.5 Mb/s", "850 kb/s"; unknown or zero reads as "—". */
export function formatBitrate(bitsPerSecond: number | null | undefined): string {
  if (!bitsPerSecond || !Number.isFinite(bitsPerSecond) || bitsPerSecond <= 0) return '—';
  if (bitsPerSecond >= 1_000_000) return `${(bitsPerSecond / 1_000_000).toFixed(1)} Mb/s`;
  return `${Math.round(bitsPerSecond / 1000)} kb/s`;
}

/** What the quality menu's closed state says: "Auto (540p)", "720p". */
export function choiceLabel(choice: QualityChoice, playing: Rung | null): string {
  if (choice === 'auto') return playing ? `Auto (${playing.label})` : 'Auto';
  return `${choice}p`;
}

/** The stats overlay's rung line: "540p · 960×540 · 1.2 Mb/s". */
export function describeRung(rung: Rung | null): string {
  if (!rung) return '—';
  return `${rung.label} · ${rung.width}×${rung.height} · ${formatBitrate(rung.bandwidth)}`;
}

/** Seconds of media buffered ahead of the playhead, from the video element's ranges. */
export function bufferAhead(ranges: readonly { start: number; end: number }[], currentTime: number): number {
  const holding = ranges.find((r) => r.start <= currentTime + 0.1 && r.end > currentTime);
  return holding ? Math.max(0, holding.end - currentTime) : 0;
}
