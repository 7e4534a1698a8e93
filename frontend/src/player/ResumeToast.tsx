import { resumingFrom, startingAt } from '../rules/timeLabels';
import type { StartNotice } from './useResume';

/** docs/PRODUCT.md, J4: "Resuming from 30:12" (or a shared link's "Starting at 12:34") with a way
 * to start from the beginning instead; a link's start time that was ignored, and why. */
export function ResumeToast({ notice, onRestart }: { notice: StartNotice; onRestart: () => void }) {
  const { position } = notice;
  return (
    <div className="toast" role="status">
      {position !== null && <span>{notice.from === 'link' ? startingAt(position) : resumingFrom(position)}</span>}
      {notice.note && <span className="toast-note">{notice.note}</span>}
      {position !== null && position > 0 && (
        <button type="button" className="link-button" onClick={onRestart}>
          Start from beginning
        </button>
      )}
    </div>
  );
}
