import type { ReactNode } from 'react';
import { describeError } from '../api/client';

interface Props {
  error: unknown;
  /** Asks again (a query's `refetch`). */
  onRetry: () => unknown;
  /** The reason in words (the console words its errors for operators). */
  describe?: (error: unknown) => string;
  /** What failed, before the reason ("Streaming could not be loaded."). */
  heading?: ReactNode;
  className?: string;
}

/** A request that failed: the reason in words and a retry. The one error box of the app. */
export function QueryError({ error, onRetry, describe = describeError, heading, className }: Props) {
  return (
    <div className={className ? `error-box ${className}` : 'error-box'} role="alert">
      <p>
        {heading && <strong>{heading}</strong>}
        {heading && ' '}
        {describe(error)}
      </p>
      <button type="button" className="button" onClick={() => void onRetry()}>
        Try again
      </button>
    </div>
  );
}
