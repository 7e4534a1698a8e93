// Catch-up resumes where the viewer left the programme (in either TSTV mode), and says so for a
// moment with a way to start from the beginning instead.

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

export interface ResumeToast {
  /** The position resumed at (seconds into the programme) while the toast shows, else null. */
  position: number | null;
  show: (position: number | null) => void;
}

/** The "resumed at" toast: shown by the load that resumed, gone after RESUME_TOAST_MS. */
export function useResumeToast(): ResumeToast {
  const [position, setPosition] = useState<number | null>(null);
  useEffect(() => {
    if (position === null) return undefined;
    const timer = window.setTimeout(() => setPosition(null), RESUME_TOAST_MS);
    return () => {
      window.clearTimeout(timer);
    };
  }, [position]);
  const show = useCallback((p: number | null) => setPosition(p), []);
  return { position, show };
}
