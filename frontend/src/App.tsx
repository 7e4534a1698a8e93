import { lazy, Suspense, type ComponentType } from 'react';
import { Route, Routes } from 'react-router';
import { RequireAuth } from './auth/RequireAuth';
import { AppLayout } from './components/AppLayout';
import { Loading } from './components/Loading';
import { AccountPage } from './pages/AccountPage';
import { CatchupPage } from './pages/CatchupPage';
import { GuidePage } from './pages/GuidePage';
import { HomePage } from './pages/HomePage';
import { RecordingsPage } from './pages/RecordingsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { SignInPage } from './pages/SignInPage';
import { ROUTE_PATTERNS } from './routes';

// The player (and Shaka with it) loads with the watch route only: the first page stays small.
const WatchPage = lazy(() => import('./pages/WatchPage'));
// The operator console loads only for those who open it.
const AdminRoutes = lazy(() => import('./admin/AdminRoutes'));

/** A page loaded with its route, a spinner saying what is coming meanwhile. */
function LazyPage({ page: Page, loading }: { page: ComponentType; loading: string }) {
  return (
    <Suspense fallback={<Loading label={loading} />}>
      <Page />
    </Suspense>
  );
}

/** The route table: every page of the app by its address (the addresses themselves are in routes.ts). */
export function App() {
  return (
    <Routes>
      <Route path={ROUTE_PATTERNS.signIn} element={<SignInPage />} />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        <Route index element={<HomePage />} />
        <Route path={ROUTE_PATTERNS.guide} element={<GuidePage />} />
        <Route path={ROUTE_PATTERNS.catchup} element={<CatchupPage />} />
        <Route path={ROUTE_PATTERNS.recordings} element={<RecordingsPage />} />
        <Route path={ROUTE_PATTERNS.account} element={<AccountPage />} />
        <Route path={ROUTE_PATTERNS.watch} element={<LazyPage page={WatchPage} loading="Loading the player" />} />
        <Route path={ROUTE_PATTERNS.admin} element={<LazyPage page={AdminRoutes} loading="Loading the console" />} />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
