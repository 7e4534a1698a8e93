import { Link } from 'react-router';
import type { PlaybackProblem } from '../rules/playbackProblems';
import { PATHS } from '../routes';

interface Props {
  problem: PlaybackProblem;
  onRetry: () => void;
  liveLink: string | null;
  catchupLink: string | null;
  /** The channel's catch-up list, for a programme that cannot be watched. */
  listLink: string | null;
}

/** What went wrong, in words, and what the viewer can do next. */
const NOT_WATCHABLE = new Set(['expired', 'not_recorded', 'not_eligible']);

export function ProblemPanel({ problem, onRetry, liveLink, catchupLink, listLink }: Props) {
  return (
    <div className="problem" role="alert">
      <h2>{problem.title}</h2>
      <p>{problem.message}</p>
      <div className="problem-actions">
        {problem.retryable && (
          <button type="button" className="button primary" onClick={onRetry}>
            Try again
          </button>
        )}
        {problem.kind === 'not_on_air' && catchupLink && (
          <Link className="button primary" to={catchupLink} replace>
            Watch on Catch-Up
          </Link>
        )}
        {listLink && NOT_WATCHABLE.has(problem.kind) && (
          <Link className="button primary" to={listLink}>
            More from this channel on Catch-Up
          </Link>
        )}
        {liveLink && problem.kind !== 'no_subscription' && problem.kind !== 'unavailable' && (
          <Link className="button" to={liveLink} replace>
            Watch the channel live
          </Link>
        )}
        <Link className="button ghost" to={PATHS.home}>
          Back to Home
        </Link>
      </div>
    </div>
  );
}
