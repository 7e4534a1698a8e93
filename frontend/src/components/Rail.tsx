import type { ReactNode } from 'react';
import { describeError } from '../api/client';

interface QueryState {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  refetch: () => unknown;
}

/** A home rail: its title, a skeleton while loading, a message and a retry when the API cannot
 * be reached, and what will appear there when it is empty. */
export function Rail(props: { title: string; query: QueryState; empty: string; count: number | undefined; children: ReactNode }) {
  const { title, query, empty, count, children } = props;
  const id = `rail-${title.toLowerCase().replace(/\W+/g, '-')}`;
  return (
    <section aria-labelledby={id} className="rail">
      <h2 id={id} className="rail-title">
        {title}
      </h2>
      {query.isPending && (
        <ul className="card-rail" aria-busy="true" aria-label={`Loading ${title}`}>
          {Array.from({ length: 4 }, (_, i) => (
            <li key={i} className="programme-card skeleton" />
          ))}
        </ul>
      )}
      {query.isError && (
        <div className="error-box" role="alert">
          <p>{describeError(query.error)}</p>
          <button type="button" className="button" onClick={() => void query.refetch()}>
            Try again
          </button>
        </div>
      )}
      {!query.isPending && !query.isError && count === 0 && <p className="empty">{empty}</p>}
      {!query.isPending && !query.isError && (count ?? 0) > 0 && children}
    </section>
  );
}
