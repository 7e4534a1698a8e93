// The operator console (docs/PRODUCT.md, J7): its routes live under /admin/*. A viewer's token never gets
// further than "This page is for operators" (and the API answers a viewer 403 anyway).

import { Navigate, NavLink, Route, Routes } from 'react-router';
import { useAuth } from '../auth/AuthProvider';
import { NotFoundPage } from '../pages/NotFoundPage';
import { adminPath } from '../routes';
import './admin.css';
import { CoveragePage } from './CoveragePage';
import { RulesPage } from './RulesPage';
import { SchedulePage } from './SchedulePage';
import { StreamingPage } from './StreamingPage';
import { UsersPage } from './UsersPage';
import { OperatorsOnly } from './consoleWidgets';

const SECTIONS = [
  { to: 'streaming', label: 'Streaming' },
  { to: 'coverage', label: 'Archive & keys' },
  { to: 'rules', label: 'TSTV rules' },
  { to: 'schedule', label: 'Programme rights' },
  { to: 'users', label: 'Users' },
] as const;

export default function AdminRoutes() {
  const { claims } = useAuth();
  if (claims?.role !== 'admin') return <OperatorsOnly />;
  return (
    <div className="admin">
      <nav className="admin-nav" aria-label="Operations">
        <span className="admin-nav-title" aria-hidden="true">
          Operations
        </span>
        {SECTIONS.map((s) => (
          <NavLink key={s.to} to={adminPath(s.to)}>
            {s.label}
          </NavLink>
        ))}
      </nav>
      <Routes>
        <Route index element={<Navigate to="streaming" replace />} />
        <Route path="streaming" element={<StreamingPage />} />
        <Route path="coverage" element={<CoveragePage />} />
        <Route path="rules" element={<RulesPage />} />
        <Route path="schedule" element={<SchedulePage />} />
        <Route path="users" element={<UsersPage />} />
        <Route path="*" element={<NotFoundPage />} />
      </Routes>
    </div>
  );
}
