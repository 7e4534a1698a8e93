// The operator console (issue 11): its routes live under /admin/*.
import { Navigate, Route, Routes } from 'react-router';

export default function AdminRoutes() {
  return (
    <Routes>
      <Route index element={<Navigate to="streaming" replace />} />
      <Route path="*" element={<p>The operator console is being built.</p>} />
    </Routes>
  );
}
