// Which streaming format the player asks the API for: HLS (the default) or MPEG-DASH, both built
// from the same archive. `?format=dash` (or `hls`) on a watch address chooses it and the browser
// keeps the choice, so moving between live, start-over and catch-up stays in the chosen format.

export type StreamingFormat = 'hls' | 'dash';

const KEY = 'tstv.format';

/** The format an address's query asks for, else the one `stored`, else HLS. */
export function formatFrom(search: string, stored: string | null): StreamingFormat {
  const asked = new URLSearchParams(search).get('format');
  const chosen = asked ?? stored;
  return chosen === 'dash' ? 'dash' : 'hls';
}

/** The format for a load now: the address's choice (remembered in this browser) or the last one. */
export function streamingFormat(): StreamingFormat {
  let stored: string | null = null;
  try {
    stored = window.localStorage.getItem(KEY);
  } catch {
    // Storage may be switched off: the address alone decides.
  }
  const asked = new URLSearchParams(window.location.search).get('format');
  const format = formatFrom(window.location.search, stored);
  if (asked !== null) {
    try {
      window.localStorage.setItem(KEY, format);
    } catch {
      // as above
    }
  }
  return format;
}
