import { UP_NEXT_LEAD_SECONDS, upNextLine } from '../rules/upNext';

interface Props {
  title: string;
  seconds: number;
  onPlayNow: () => void;
  onCancel: () => void;
}

/** "Up next: Quiz Circuit in 8 s" with Play now and Cancel, over the end of a catch-up programme.
 * The countdown is a timer (not read out every second); the offer itself is announced once. */
export function UpNextCard({ title, seconds, onPlayNow, onCancel }: Props) {
  return (
    <section className="up-next" aria-label="Up next">
      <p className="up-next-line" role="timer">
        Up next: <strong>{title}</strong> in {seconds} s
      </p>
      <p className="sr-only" role="status">
        {`${upNextLine(title, UP_NEXT_LEAD_SECONDS)}, unless you cancel.`}
      </p>
      <div className="up-next-bar" aria-hidden="true">
        <div style={{ width: `${Math.min(100, (seconds / UP_NEXT_LEAD_SECONDS) * 100)}%` }} />
      </div>
      <div className="prompt-actions">
        <button type="button" className="button primary" onClick={onPlayNow}>
          Play now
        </button>
        <button type="button" className="button" onClick={onCancel}>
          Cancel
        </button>
      </div>
    </section>
  );
}
