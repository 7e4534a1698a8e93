import { NavLink, Outlet } from 'react-router';
import { useMe } from '../api/queries';
import { useAuth } from '../auth/AuthProvider';
import { PATHS } from '../routes';
import { NotificationsBell } from './NotificationsBell';

/** The header every signed-in page shares; the pages render below it. */
export function AppLayout() {
  const { signOut, claims } = useAuth();
  const me = useMe();
  return (
    <div className="app">
      <a className="skip-link" href="#main">
        Skip to content
      </a>
      <header className="app-header">
        <NavLink to={PATHS.home} className="brand" aria-label="TSTV home">
          <span className="brand-mark" aria-hidden="true">
            ▶
          </span>
          TSTV
        </NavLink>
        <nav aria-label="Main" className="main-nav">
          <NavLink to={PATHS.home} end>
            Home
          </NavLink>
          <NavLink to={PATHS.guide}>Guide</NavLink>
          <NavLink to={PATHS.catchup}>Catch-Up</NavLink>
          <NavLink to={PATHS.recordings}>Recordings</NavLink>
          {claims?.role === 'admin' && <NavLink to={PATHS.admin}>Operations</NavLink>}
        </nav>
        <div className="account">
          <NotificationsBell />
          {me.data && (
            <NavLink to={PATHS.account} className="account-name" title={`${me.data.email}: account and password`}>
              {me.data.profiles.find((p) => p.id === me.data.profile_id)?.name ?? me.data.email}
            </NavLink>
          )}
          <button type="button" className="button ghost" onClick={signOut}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" className="app-main">
        <Outlet />
      </main>
    </div>
  );
}
