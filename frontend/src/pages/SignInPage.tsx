import { useState, type FormEvent } from 'react';
import { Navigate, useSearchParams } from 'react-router';
import { ApiError, describeError } from '../api/client';
import { useAppConfig } from '../api/queries';
import { useAuth } from '../auth/AuthProvider';
import { safeReturnPath } from '../auth/returnTo';
import { TextField } from '../components/TextField';

function signInMessage(e: unknown): string {
  if (e instanceof ApiError && e.status === 401) return 'Wrong email or password.';
  if (e instanceof ApiError && e.status === 422) return 'Enter your email and password.';
  if (e instanceof ApiError && e.status === 403) return 'This account is disabled. Ask an operator.';
  if (e instanceof ApiError && e.status === 429) return 'Too many attempts. Wait a minute, then try again.';
  return describeError(e);
}

export function SignInPage() {
  const { token, signIn } = useAuth();
  const [params] = useSearchParams();
  const config = useAppConfig();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const next = safeReturnPath(params.get('next'));

  if (token) return <Navigate to={next} replace />;

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setBusy(true);
    setError(null);
    try {
      await signIn(email.trim(), password);
    } catch (e) {
      setError(signInMessage(e));
      setBusy(false);
    }
  };

  const demo = config.data?.demo_accounts ?? [];
  return (
    <main className="signin" id="main">
      <div className="signin-card">
        <div className="brand big" aria-hidden="true">
          <span className="brand-mark">▶</span>TSTV
        </div>
        <h1>Sign in</h1>
        {params.get('expired') === '1' && !error && (
          <p className="notice" role="status">
            Your session has expired. Please sign in again.
          </p>
        )}
        <form onSubmit={(e) => void submit(e)} noValidate>
          <TextField
            id="email"
            label="Email"
            name="email"
            type="email"
            autoComplete="username"
            required
            value={email}
            onChange={setEmail}
          />
          <TextField
            id="password"
            label="Password"
            name="password"
            type="password"
            autoComplete="current-password"
            required
            value={password}
            onChange={setPassword}
          />
          {error && (
            <p className="form-error" role="alert">
              {error}
            </p>
          )}
          <button type="submit" className="button primary wide" disabled={busy}>
            {busy ? 'Signing in…' : 'Sign in'}
          </button>
        </form>
        {demo.length > 0 && (
          <section className="demo-accounts" aria-labelledby="demo-title">
            <h2 id="demo-title">Demo accounts</h2>
            <p>Development mode: choose one to fill in the form.</p>
            <ul>
              {demo.map((a) => (
                <li key={a.email}>
                  <button
                    type="button"
                    className="demo-account"
                    onClick={() => {
                      setEmail(a.email);
                      setPassword(a.password);
                      setError(null);
                    }}
                  >
                    <span className="demo-email">{a.email}</span>
                    <span className="demo-role">{a.description}</span>
                  </button>
                </li>
              ))}
            </ul>
            <p className="hint">
              Password: <code>{demo[0]?.password}</code>
            </p>
          </section>
        )}
      </div>
    </main>
  );
}
