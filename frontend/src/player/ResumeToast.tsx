import { resumingFrom } from '../rules/timeLabels';

/** docs/PRODUCT.md, J4: "Resuming from 30:12" with a way to start from the beginning instead. */
export function ResumeToast({ position, onRestart }: { position: number; onRestart: () => void }) {
  return (
    <div className="toast" role="status">
      <span>{resumingFrom(position)}</span>
      <button type="button" className="link-button" onClick={onRestart}>
        Start from beginning
      </button>
    </div>
  );
}
