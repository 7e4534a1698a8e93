import type { ReactNode } from 'react';
import { QueryError } from './QueryError';

interface QueryState {
  isPending: boolean;
  isError: boolean;
  error: unknown;
  refetch: () => unknown;
}

/** A home rail: its title, a skeleton while loading, a message and a retry when the API cannot
 * be reached, what will appear there when it is empty, and else its items as cards in a `list`. */
export function Rail<T>(props: {
  title: string;
  query: QueryState;
  empty: string;
  items: T[] | undefined;
  list?: 'card-rail' | 'channel-grid';
  children: (item: T) => ReactNode;
}) {
  const { title, query, empty, items, list = 'card-rail', children } = props;
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
      {query.isError && <QueryError error={query.error} onRetry={query.refetch} />}
      {!query.isPending && !query.isError && items?.length === 0 && <p className="empty">{empty}</p>}
      {!query.isPending && !query.isError && items && items.length > 0 && <ul className={list}>{items.map(children)}</ul>}
    </section>
  );
}
