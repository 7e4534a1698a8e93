// The account page's IPTV section: links an IPTV player (Kodi, TiviMate) reads the channels, catch-up
// and guide with. A link's URLs are shown only when it is made (the server keeps no copy).

import { useState } from 'react';
import { describeError } from '../api/client';
import { useCreateIptvLink, useIptvLinks, useRevokeIptvLink, type NewIptvLink } from '../api/iptvQueries';

function CopyField({ id, label, value, button }: { id: string; label: string; value: string; button: string }) {
  const [copied, setCopied] = useState(false);
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value);
      setCopied(true);
    } catch {
      setCopied(false); // no clipboard (insecure origin): the field can still be selected by hand
    }
  };
  return (
    <div className="iptv-url">
      <label htmlFor={id}>{label}</label>
      <input id={id} type="text" readOnly value={value} onFocus={(e) => e.currentTarget.select()} />
      <button type="button" className="button" onClick={() => void copy()}>
        {button}
      </button>
      {copied && <span role="status">Copied</span>}
    </div>
  );
}

function created(at: string): string {
  return new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

export function IptvLinks() {
  const links = useIptvLinks();
  const create = useCreateIptvLink();
  const revoke = useRevokeIptvLink();
  const [fresh, setFresh] = useState<NewIptvLink | null>(null);
  const error = create.error ?? revoke.error ?? links.error;

  const make = async () => {
    try {
      setFresh(await create.mutateAsync());
    } catch {
      // shown from `create.error`
    }
  };

  return (
    <section className="account-form iptv-links" aria-labelledby="iptv-title">
      <h2 id="iptv-title">IPTV players</h2>
      <p className="hint">
        Watch live TV and catch-up in an IPTV player such as Kodi (IPTV Simple Client): give it the playlist URL and
        the guide URL of a link. Anyone with a link can watch as you, so revoke one you no longer use.
      </p>
      {fresh && (
        <div className="iptv-new" aria-label="New IPTV link">
          <p className="notice">Copy the URLs now: they are shown only once.</p>
          <CopyField id="iptv-playlist-url" label="Playlist URL" value={fresh.playlist_url} button="Copy playlist URL" />
          <CopyField id="iptv-guide-url" label="Guide URL" value={fresh.epg_url} button="Copy guide URL" />
        </div>
      )}
      {links.data && links.data.tokens.length > 0 && (
        <ul className="iptv-list" aria-label="IPTV links">
          {links.data.tokens.map((link) => (
            <li key={link.id}>
              <span>Link made {created(link.created_at)}</span>
              <button
                type="button"
                className="button"
                disabled={revoke.isPending}
                onClick={() => {
                  revoke.mutate(link.id);
                  if (fresh?.id === link.id) setFresh(null);
                }}
              >
                Revoke
              </button>
            </li>
          ))}
        </ul>
      )}
      {links.data && links.data.tokens.length === 0 && <p>No IPTV links.</p>}
      {error && (
        <p className="form-error" role="alert">
          {describeError(error)}
        </p>
      )}
      <button type="button" className="button primary" disabled={create.isPending} onClick={() => void make()}>
        {create.isPending ? 'Creating…' : 'Create IPTV link'}
      </button>
    </section>
  );
}
