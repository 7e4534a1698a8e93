import { Link } from 'react-router';
import { PATHS } from '../routes';

export function NotFoundPage({ message }: { message?: string }) {
  return (
    <section className="empty-state" aria-labelledby="not-found-title">
      <h1 id="not-found-title">Page not found</h1>
      <p>{message ?? 'There is nothing at this address. The link may be wrong or out of date.'}</p>
      <Link className="button primary" to={PATHS.home}>
        Go to Home
      </Link>
    </section>
  );
}
