// An encoder's state as the console shows it: a word and a tone (colour), and what an action did.

import type { EncoderAction } from './queries';

export type Tone = 'ok' | 'busy' | 'off' | 'bad';

export interface StateLook {
  word: string;
  tone: Tone;
}

/** running / starting / stopped / error, and any other state the API may add, in words. */
export function stateLook(state: string, wanted: boolean): StateLook {
  switch (state) {
    case 'running':
      return { word: 'Running', tone: 'ok' };
    case 'starting':
      return { word: 'Starting', tone: 'busy' };
    case 'stopped':
      return wanted ? { word: 'Stopped (restarting)', tone: 'busy' } : { word: 'Stopped', tone: 'off' };
    case 'error':
      return { word: wanted ? 'Error (restarting)' : 'Error', tone: 'bad' };
    default:
      return { word: state ? state.charAt(0).toUpperCase() + state.slice(1) : 'Unknown', tone: 'off' };
  }
}

export const ACTION_WORDS: Record<EncoderAction, { label: string; pending: string; done: string }> = {
  start: { label: 'Start', pending: 'Starting…', done: 'Started.' },
  stop: { label: 'Stop', pending: 'Stopping…', done: 'Stopped.' },
  restart: { label: 'Restart', pending: 'Restarting…', done: 'Restarted on a new run.' },
};

export interface StateCounts {
  running: number;
  starting: number;
  stopped: number;
  error: number;
}

export function countStates(rows: readonly { state: string }[]): StateCounts {
  const out: StateCounts = { running: 0, starting: 0, stopped: 0, error: 0 };
  for (const r of rows) {
    if (r.state === 'running' || r.state === 'starting' || r.state === 'stopped' || r.state === 'error') out[r.state] += 1;
  }
  return out;
}
