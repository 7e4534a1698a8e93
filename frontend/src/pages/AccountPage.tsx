// /account: who is signed in, a new password, and links for IPTV players. A new password signs every other device out;
// this one carries on with the token the answer brings.

import { useState, type FormEvent } from 'react';
import { ApiError, api, describeError, unwrap } from '../api/client';
import { useMe } from '../api/queries';
import { useAuth } from '../auth/AuthProvider';
import { IptvLinks } from '../components/IptvLinks';
import { TextField } from '../components/TextField';

const MIN_LENGTH = 10;

function passwordMessage(e: unknown): string {
  if (e instanceof ApiError && e.status === 403) return 'The current password is not right.';
  if (e instanceof ApiError && e.status === 422) return `The new password needs at least ${MIN_LENGTH} characters.`;
  return describeError(e);
}

export function AccountPage() {
  const me = useMe();
  const { replaceToken } = useAuth();
  const [current, setCurrent] = useState('');
  const [next, setNext] = useState('');
  const [again, setAgain] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState(false);

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    if (busy) return;
    setDone(false);
    if (next.length < MIN_LENGTH) {
      setError(`The new password needs at least ${MIN_LENGTH} characters.`);
      return;
    }
    if (next !== again) {
      setError('The new password and its repetition differ.');
      return;
    }
    setBusy(true);
    setError(null);
    try {
      const out = await unwrap(
        api.POST('/api/v1/auth/password', { body: { current_password: current, new_password: next } }),
      );
      replaceToken(out.access_token);
      setCurrent('');
      setNext('');
      setAgain('');
      setDone(true);
    } catch (e) {
      setError(passwordMessage(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="page account-page" aria-labelledby="account-title">
      <h1 id="account-title">Account</h1>
      {me.data && (
        <p>
          Signed in as <strong>{me.data.email}</strong>
          {me.data.subscription_active ? ' with a subscription.' : ' without a subscription.'}
        </p>
      )}
      <form className="account-form" onSubmit={(e) => void submit(e)} noValidate aria-labelledby="password-title">
        <h2 id="password-title">Change password</h2>
        <p className="hint">Every other device where you are signed in will need the new password.</p>
        <TextField id="current-password" label="Current password" type="password" autoComplete="current-password" value={current} onChange={setCurrent} />
        <TextField id="new-password" label="New password" type="password" autoComplete="new-password" value={next} onChange={setNext} />
        <TextField id="new-password-again" label="New password again" type="password" autoComplete="new-password" value={again} onChange={setAgain} />
        {error && (
          <p className="form-error" role="alert">
            {error}
          </p>
        )}
        {done && (
          <p className="notice" role="status">
            Password changed. Other devices are signed out.
          </p>
        )}
        <button type="submit" className="button primary" disabled={busy}>
          {busy ? 'Changing…' : 'Change password'}
        </button>
      </form>
      <IptvLinks />
    </section>
  );
}
