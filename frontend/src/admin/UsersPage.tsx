// /admin/users: every account with its role, subscription and whether it may sign in. A change
// applies to the user's next request (a playback already running included); a new role also signs
// the user out everywhere. Accounts are created with the CLI (`python -m app.users add`).

import { useId, useState } from 'react';
import { useAuth } from '../auth/AuthProvider';
import { describeAdminError } from './errors';
import { formatClockTime } from './format';
import { useUpdateUser, useUsers, type UserChange, type UserRow } from './queries';
import { ConsolePage, QueryProblem, SkeletonCards, Switch } from './consoleWidgets';

export function UsersPage() {
  const users = useUsers();
  return (
    <ConsolePage
      name="users"
      title="Users"
      lead="Who may sign in, as what, and with a subscription. New accounts are made with the command line."
      notice={
        <>
          Changes apply to the user&apos;s next request, playlists and licences of a programme they are watching
          included. A new role signs the user out on every device.
        </>
      }
    >
      {users.isPending && <SkeletonCards count={3} label="Loading the users" />}
      {users.isError && !users.data && (
        <QueryProblem error={users.error} what="The users" onRetry={users.refetch} />
      )}
      {users.data && (
        <ul className="rules-list users-list">
          {users.data.users.map((u) => (
            <UserItem key={u.id} user={u} />
          ))}
        </ul>
      )}
    </ConsolePage>
  );
}

function UserItem({ user }: { user: UserRow }) {
  const titleId = useId();
  const roleId = useId();
  const { claims } = useAuth();
  const update = useUpdateUser(user.id);
  const [message, setMessage] = useState<{ tone: 'ok' | 'bad'; text: string } | null>(null);
  const self = claims?.userId === user.id;

  const change = (body: UserChange, done: string) => {
    setMessage(null);
    update.mutate(body, {
      onSuccess: () => {
        setMessage({ tone: 'ok', text: `${done} at ${formatClockTime(new Date())}.` });
      },
      onError: (e) => {
        setMessage({ tone: 'bad', text: `Not saved: ${describeAdminError(e)}` });
      },
    });
  };

  return (
    <li>
      <article className={`admin-card rules-row${user.disabled ? ' tstv-off' : ''}`} aria-labelledby={titleId}>
        <div className="rules-channel">
          <h2 id={titleId}>{user.email}</h2>
          <span className="muted">{self ? 'You' : user.disabled ? 'Disabled' : 'Active'}</span>
        </div>
        <div className="rules-controls">
          <div className="rules-switches">
            <Switch
              label="Subscription"
              accessibleName={`Subscription for ${user.email}`}
              checked={user.subscription_active}
              disabled={update.isPending}
              onChange={(on) => {
                change({ subscription_active: on }, on ? 'Subscription on' : 'Subscription off');
              }}
            />
            <Switch
              label="Disabled"
              accessibleName={`Disabled: ${user.email}`}
              checked={user.disabled}
              disabled={update.isPending || self}
              hint={self ? 'Not your own account' : undefined}
              onChange={(on) => {
                change({ disabled: on }, on ? 'Disabled' : 'Enabled');
              }}
            />
          </div>
          <div className="rules-fields">
            <div className="admin-field">
              <label htmlFor={roleId}>Role</label>
              <select
                id={roleId}
                aria-label={`Role of ${user.email}`}
                value={user.role}
                disabled={update.isPending || self}
                onChange={(e) => {
                  const role = e.target.value === 'admin' ? 'admin' : 'viewer';
                  change({ role }, role === 'admin' ? 'Made an operator' : 'Made a viewer');
                }}
              >
                <option value="viewer">Viewer</option>
                <option value="admin">Operator</option>
              </select>
            </div>
          </div>
        </div>
        <p className={`rules-message${message ? ` tone-${message.tone}` : ''}`} role="status" aria-live="polite">
          {message?.text ?? ''}
        </p>
      </article>
    </li>
  );
}
