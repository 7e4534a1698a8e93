// Catch-up resumes where the viewer left the programme (in either TSTV mode), or starts where a
// shared link says, and says so for a moment with a way to start from the beginning instead.

import { useCallback, useEffect, useState } from 'react';
import { fetchBookmark } from '../api/queries';

const RESUME_MIN_SECONDS = 5;
const FINISHED_RATIO = 0.95;
const RESUME_TOAST_MS = 3000;

/** The furthest unfinished position saved for a programme, in either TSTV mode (0 if none). */
export async function resumePosition(entryId: string, duration: number): Promise<number> {
  const marks = await Promise.all([
    fetchBookmark('tstv_catchup', entryId).catch(() => null),
    fetchBookmark('tstv_startover', entryId).catch(() => null),
  ]);
  const best = Math.max(0, ...marks.map((b) => b?.position_seconds ?? 0));
  return best >= RESUME_MIN_SECONDS && best < duration * FINISHED_RATIO ? best : 0;
}

/** How a catch-up started, for the toast: at a position (saved, or a shared link's), and a
 * link's start time that was ignored. */
export interface StartNotice {
  /** Seconds into the programme it started at; null when it started as usual. */
  position: number | null;
  from: 'saved' | 'link';
  note: string | null;
}

export interface ResumeToast {
  /** What the toast says while it shows, else null. */
  notice: StartNotice | null;
  show: (notice: StartNotice | null) => void;
}

/** The "resumed at" toast: shown by the load that resumed, gone after RESUME_TOAST_MS (a note on
 * an ignored link, which takes longer to read, after twice that). */
export function useResumeToast(): ResumeToast {
  const [notice, setNotice] = useState<StartNotice | null>(null);
  useEffect(() => {
    if (notice === null) return undefined;
    const timer = window.setTimeout(() => setNotice(null), notice.note ? 2 * RESUME_TOAST_MS : RESUME_TOAST_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [notice]);
  const show = useCallback((n: StartNotice | null) => setNotice(n), []);
  return { notice, show };
}
