import { useEffect, useRef, useState } from 'react';
import { startingAt } from '../rules/timeLabels';

/** What a press shares: the address, and the second of the programme it opens at. */
export interface SharedMoment {
  url: string;
  seconds: number;
}

const COPIED_NOTE_MS = 5000;

/** *Share*: copies a link that opens the programme at this second. Where the Clipboard API is
 * missing or refused (an insecure page, a denied permission) the link is shown in a field to copy
 * by hand instead. */
export function ShareButton({ moment }: { moment: () => SharedMoment | null }) {
  const [shared, setShared] = useState<(SharedMoment & { copied: boolean }) | null>(null);
  const field = useRef<HTMLInputElement>(null);

  const share = async () => {
    const m = moment();
    if (!m) return;
    let copied = false;
    try {
      // Missing on an insecure page, whatever the DOM types say.
      const clipboard = (navigator as Partial<Navigator>).clipboard;
      if (clipboard) {
        await clipboard.writeText(m.url);
        copied = true;
      }
    } catch {
      copied = false;
    }
    setShared({ ...m, copied });
  };

  useEffect(() => {
    if (!shared) return undefined;
    if (!shared.copied) {
      field.current?.focus();
      field.current?.select();
      return undefined;
    }
    const timer = window.setTimeout(() => setShared(null), COPIED_NOTE_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [shared]);

  return (
    <span className="share-actions">
      <button type="button" className="button" title="Copy a link to this moment" onClick={() => void share()}>
        Share
      </button>
      {shared?.copied && (
        <span className="share-note" role="status">
          Link copied. {startingAt(shared.seconds)}
        </span>
      )}
      {shared && !shared.copied && (
        <label className="share-fallback">
          <span>Copy this link ({startingAt(shared.seconds)})</span>
          <input ref={field} type="text" readOnly value={shared.url} onFocus={(e) => e.currentTarget.select()} />
        </label>
      )}
    </span>
  );
}
