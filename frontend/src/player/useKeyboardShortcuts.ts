import { useEffect, useRef } from 'react';

export interface Shortcuts {
  togglePlay: () => void;
  seekBy: (seconds: number) => void;
  live: () => void;
  fullscreen: () => void;
  mute: () => void;
  stats: () => void;
  /** Channel up/down, live only. */
  channel: ((step: 1 | -1) => void) | null;
}

/** Space/K play-pause, ←/→ 10 s, L live, F full screen, M mute, I stats, ↑/↓ channel. Keys typed into a
 * field, or that a focused control handles itself, are left alone. */
export function useKeyboardShortcuts(shortcuts: Shortcuts): void {
  const ref = useRef(shortcuts);
  useEffect(() => {
    ref.current = shortcuts;
  });
  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      if (e.defaultPrevented || e.altKey || e.ctrlKey || e.metaKey) return;
      const el = e.target instanceof HTMLElement ? e.target : null;
      const tag = el?.tagName ?? '';
      if (tag === 'INPUT' || tag === 'TEXTAREA' || tag === 'SELECT' || el?.isContentEditable) return;
      if ((e.key === ' ' || e.key === 'Enter') && (tag === 'BUTTON' || tag === 'A')) return;
      const s = ref.current;
      const actions: Record<string, (() => void) | undefined> = {
        ' ': s.togglePlay,
        k: s.togglePlay,
        ArrowLeft: () => s.seekBy(-10),
        ArrowRight: () => s.seekBy(10),
        l: s.live,
        f: s.fullscreen,
        m: s.mute,
        i: s.stats,
        ArrowUp: s.channel ? () => s.channel?.(1) : undefined,
        ArrowDown: s.channel ? () => s.channel?.(-1) : undefined,
      };
      const action = actions[e.key.length === 1 ? e.key.toLowerCase() : e.key];
      if (action) {
        e.preventDefault();
        action();
      }
    };
    window.addEventListener('keydown', onKey);
    return () => {
      window.removeEventListener('keydown', onKey);
    };
  }, []);
}
