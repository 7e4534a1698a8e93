import { lazy, Suspense } from 'react';
import { Route, Routes } from 'react-router';
import { RequireAuth } from './auth/RequireAuth';
import { AppLayout } from './components/AppLayout';
import { Loading } from './components/Loading';
import { CatchupPage } from './pages/CatchupPage';
import { GuidePage } from './pages/GuidePage';
import { HomePage } from './pages/HomePage';
import { RecordingsPage } from './pages/RecordingsPage';
import { NotFoundPage } from './pages/NotFoundPage';
import { SignInPage } from './pages/SignInPage';

// The player (and Shaka with it) loads with the watch route only: the first page stays small.
const WatchPage = lazy(() => import('./pages/WatchPage'));
// The operator console loads only for those who open it.
const AdminRoutes = lazy(() => import('./admin/AdminRoutes'));

export function App() {
  return (
    <Routes>
      <Route path="/signin" element={<SignInPage />} />
      <Route
        element={
          <RequireAuth>
            <AppLayout />
          </RequireAuth>
        }
      >
        <Route index element={<HomePage />} />
        <Route path="guide" element={<GuidePage />} />
        <Route path="catchup" element={<CatchupPage />} />
        <Route path="recordings" element={<RecordingsPage />} />
        <Route
          path="watch/:mode/:channelId/:entryId?"
          element={
            <Suspense fallback={<Loading label="Loading the player" />}>
              <WatchPage />
            </Suspense>
          }
        />
        <Route
          path="admin/*"
          element={
            <Suspense fallback={<Loading label="Loading the console" />}>
              <AdminRoutes />
            </Suspense>
          }
        />
        <Route path="*" element={<NotFoundPage />} />
      </Route>
    </Routes>
  );
}
