// When the Start Over prompt shows, and for how long (docs/PRODUCT.md, J1).

export const PROMPT_VISIBLE_SECONDS = 10;
export const DEFAULT_PROMPT_AFTER_SECONDS = 180;

export interface PromptConditions {
  startoverAvailable: boolean;
  elapsedSeconds: number;
  /** The prompt shows when the programme began longer ago than this (3 min unless configured). */
  afterSeconds: number;
  alreadyShown: boolean;
}

/** Offer the prompt only for an eligible programme that began more than `afterSeconds` ago and was
 * not offered before in this browser session. */
export function shouldOfferStartOver(c: PromptConditions): boolean {
  return c.startoverAvailable && !c.alreadyShown && c.elapsedSeconds > c.afterSeconds;
}

/** Whole seconds left of the prompt's countdown, from when it appeared; 0 means it is gone. */
export function secondsLeft(shownAtMs: number, nowMs: number): number {
  const left = PROMPT_VISIBLE_SECONDS - (nowMs - shownAtMs) / 1000;
  return left <= 0 ? 0 : Math.ceil(left);
}

const STORE_KEY = 'tstv.startover.prompted';
const REMEMBERED = 200;

/** The programmes already offered in this browser session (sessionStorage: a new session, or
 * another tab opened fresh, offers again). A reload or Jump to Live keeps the memory. */
export class PromptMemory {
  constructor(private readonly storage: Pick<Storage, 'getItem' | 'setItem'>) {}

  private read(): string[] {
    try {
      const value: unknown = JSON.parse(this.storage.getItem(STORE_KEY) ?? '[]');
      return Array.isArray(value) ? value.filter((v): v is string => typeof v === 'string') : [];
    } catch {
      return [];
    }
  }

  hasShown(entryId: string): boolean {
    return this.read().includes(entryId);
  }

  markShown(entryId: string): void {
    const ids = this.read().filter((id) => id !== entryId);
    ids.push(entryId);
    try {
      this.storage.setItem(STORE_KEY, JSON.stringify(ids.slice(-REMEMBERED)));
    } catch {
      // Storage full or disabled: the prompt may show again, which is harmless.
    }
  }
}
