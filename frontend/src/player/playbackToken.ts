// The playback token (`pb`): the master playlist hands it out inside its media playlist URLs, and
// the licence answers only for what it covers, so the player passes it on to the licence request.

/** The `pb` a URL carries, or null. */
export function playbackTokenOf(url: string): string | null {
  try {
    return new URL(url, 'http://x.invalid').searchParams.get('pb') || null;
  } catch {
    return null;
  }
}

/** `url` with `pb` set to `token` (replacing any it had). */
export function withPlaybackToken(url: string, token: string): string {
  const parsed = new URL(url);
  parsed.searchParams.set('pb', token);
  return parsed.toString();
}
