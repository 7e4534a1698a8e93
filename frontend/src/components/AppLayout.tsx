import { NavLink, Outlet } from 'react-router';
import { useMe } from '../api/queries';
import { useAuth } from '../auth/AuthProvider';
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
        <NavLink to="/" className="brand" aria-label="TSTV home">
          <span className="brand-mark" aria-hidden="true">
            ▶
          </span>
          TSTV
        </NavLink>
        <nav aria-label="Main" className="main-nav">
          <NavLink to="/" end>
            Home
          </NavLink>
          <NavLink to="/guide">Guide</NavLink>
          <NavLink to="/catchup">Catch-Up</NavLink>
          <NavLink to="/recordings">Recordings</NavLink>
          {claims?.role === 'admin' && <NavLink to="/admin">Operations</NavLink>}
        </nav>
        <div className="account">
          <NotificationsBell />
          {me.data && (
            <span className="account-name" title={me.data.email}>
              {me.data.profiles.find((p) => p.id === me.data.profile_id)?.name ?? me.data.email}
            </span>
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
