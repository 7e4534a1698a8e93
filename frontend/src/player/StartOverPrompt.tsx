import { useEffect, useState } from 'react';
import { secondsLeft } from '../rules/startoverPrompt';
import { startedAgo } from '../rules/timeLabels';

interface Props {
  title: string;
  startedAt: Date;
  shownAtMs: number;
  onStartOver: () => void;
  onDismiss: () => void;
}

/** docs/PRODUCT.md, J1: "Started 23 min ago" with Start from Beginning / Continue Live, gone by
 * itself after 10 s. */
export function StartOverPrompt({ title, startedAt, shownAtMs, onStartOver, onDismiss }: Props) {
  const [left, setLeft] = useState(() => secondsLeft(shownAtMs, Date.now()));
  const [elapsedSeconds] = useState(() => (Date.now() - startedAt.getTime()) / 1000);
  useEffect(() => {
    const timer = window.setInterval(() => {
      const l = secondsLeft(shownAtMs, Date.now());
      setLeft(l);
      if (l === 0) onDismiss();
    }, 200);
    return () => {
      window.clearInterval(timer);
    };
  }, [shownAtMs, onDismiss]);
  if (left === 0) return null;
  return (
    <div className="startover-prompt" role="dialog" aria-modal="false" aria-labelledby="so-title" aria-describedby="so-elapsed">
      <p className="prompt-kicker">Start Over</p>
      <h2 id="so-title">{title}</h2>
      <p id="so-elapsed">{startedAgo(elapsedSeconds)}</p>
      <div className="prompt-actions">
        <button type="button" className="button primary" onClick={onStartOver} autoFocus>
          Start from Beginning
        </button>
        <button type="button" className="button" onClick={onDismiss}>
          Continue Live
        </button>
      </div>
      <div className="prompt-countdown" aria-label={`Closes in ${left} s`}>
        <div className="prompt-countdown-bar" style={{ animationDuration: '10s' }} />
        <span>Closes in {left} s</span>
      </div>
    </div>
  );
}
