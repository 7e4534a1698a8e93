import { useEffect, useRef, useState } from 'react';
import { Link } from 'react-router';
import { useMarkRead, useNotifications, type Notification } from '../api/viewerQueries';
import { safeReturnPath } from '../auth/returnTo';
import { formatDay, formatTimeOfDay } from '../rules/timeLabels';
import { Icon } from './icons';
import { RecordButton } from './RecordButton';

/** docs/PRODUCT.md, J6: the bell with the unread count; the list, unread first, each with Watch now and Mark
 * as read. New notifications show within a minute (the list is polled). */
export function NotificationsBell() {
  const notifications = useNotifications();
  const [open, setOpen] = useState(false);
  const panel = useRef<HTMLDivElement>(null);
  const unread = notifications.data?.unread ?? 0;
  const items = [...(notifications.data?.notifications ?? [])].sort((a, b) => Number(a.read) - Number(b.read));

  useEffect(() => {
    if (!open) return undefined;
    const close = (e: MouseEvent | KeyboardEvent) => {
      if (e instanceof KeyboardEvent ? e.key === 'Escape' : !panel.current?.parentElement?.contains(e.target as Node)) {
        setOpen(false);
      }
    };
    document.addEventListener('mousedown', close);
    document.addEventListener('keydown', close);
    return () => {
      document.removeEventListener('mousedown', close);
      document.removeEventListener('keydown', close);
    };
  }, [open]);

  return (
    <div className="bell">
      <button
        type="button"
        className="icon-button bell-button"
        aria-label={unread ? `Notifications, ${unread} unread` : 'Notifications'}
        aria-expanded={open}
        aria-controls="notifications-panel"
        onClick={() => setOpen((o) => !o)}
      >
        <Icon name="bell" />
        {unread > 0 && (
          <span className="bell-count" aria-hidden="true">
            {unread > 9 ? '9+' : unread}
          </span>
        )}
      </button>
      {open && (
        <div id="notifications-panel" ref={panel} className="bell-panel" role="region" aria-label="Notifications">
          <h2>Notifications</h2>
          {items.length === 0 && <p className="empty">Nothing new. You will hear here when a programme you started is about to leave Catch-Up.</p>}
          <ul>
            {items.map((n) => (
              <NotificationItem key={n.id} n={n} onOpen={() => setOpen(false)} />
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}

function NotificationItem({ n, onOpen }: { n: Notification; onOpen: () => void }) {
  const markRead = useMarkRead();
  const at = new Date(n.created_at);
  const link = n.deep_link ? safeReturnPath(n.deep_link) : null;
  return (
    <li className={`notification${n.read ? '' : ' unread'}`}>
      <p className="notification-title">{n.title}</p>
      <p className="notification-body">{n.body}</p>
      <p className="programme-meta">
        {formatDay(at)} · {formatTimeOfDay(at)}
      </p>
      <div className="notification-actions">
        {link && link !== '/' && (
          <Link
            className="button primary small"
            to={link}
            onClick={() => {
              if (!n.read) markRead.mutate(n.id);
              onOpen();
            }}
          >
            Watch now
          </Link>
        )}
        {n.schedule_entry_id && n.kind === 'catchup_expiring' && (
          // Recording it keeps it past the catch-up window (docs/PRODUCT.md, J6).
          <RecordButton entryId={n.schedule_entry_id} title={n.body} small />
        )}
        {!n.read && (
          <button type="button" className="button small" disabled={markRead.isPending} onClick={() => markRead.mutate(n.id)}>
            Mark as read
          </button>
        )}
      </div>
    </li>
  );
}
