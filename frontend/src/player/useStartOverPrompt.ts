// The Start Over prompt on tuning to live: offered once per programme and browser session
// (rules/startoverPrompt.ts), never for a programme already started over.

import { useCallback, useEffect, useState } from 'react';
import type { OnAir } from '../api/queries';
import type { Mode } from '../routes';
import { PromptMemory, shouldOfferStartOver } from '../rules/startoverPrompt';

export interface ShownPrompt {
  entryId: string;
  shownAtMs: number;
}

export interface StartOverPromptOptions {
  mode: Mode;
  entryId: string | null;
  onAir: OnAir | null | undefined;
  /** The service's settings, while they load undefined. */
  config: { startover_prompt_after_seconds: number } | undefined;
}

export function useStartOverPrompt({ mode, entryId, onAir, config }: StartOverPromptOptions) {
  const [prompt, setPrompt] = useState<ShownPrompt | null>(null);
  useEffect(() => {
    // A programme started over (by the prompt, the bar or a link) is never offered again: not
    // after Jump to Live, the live-edge switch or the end of the start-over.
    if (mode === 'startover' && entryId) new PromptMemory(window.sessionStorage).markShown(entryId);
  }, [mode, entryId]);
  useEffect(() => {
    if (mode !== 'live' || !onAir || !config) return;
    const memory = new PromptMemory(window.sessionStorage);
    if (new Date(onAir.schedule_entry.end_time).getTime() <= Date.now()) return; // over: refetching
    const offer = shouldOfferStartOver({
      startoverAvailable: onAir.startover_available,
      elapsedSeconds: onAir.elapsed_seconds,
      afterSeconds: config.startover_prompt_after_seconds,
      alreadyShown: memory.hasShown(onAir.schedule_entry.id),
    });
    if (offer) {
      memory.markShown(onAir.schedule_entry.id);
      setPrompt({ entryId: onAir.schedule_entry.id, shownAtMs: Date.now() });
    }
  }, [mode, onAir, config]);
  useEffect(() => {
    if (mode !== 'live') setPrompt(null);
  }, [mode]);
  const dismiss = useCallback(() => setPrompt(null), []);
  return { prompt, dismiss };
}
