import { useQuery } from '@tanstack/react-query';
import { api, unwrap } from '../api/client';
import { keys } from '../api/queries';

/** The programme of a channel at an instant (live: the one at the playhead, which is not the one
 * on air once the viewer rewinds). Reads the UTC day's schedule, cached per day. */
export function useProgrammeAt(channelId: string | null, at: Date | null) {
  const day = at ? at.toISOString().slice(0, 10) : '';
  const schedule = useQuery({
    queryKey: keys.schedule(channelId ?? '', day),
    queryFn: () =>
      unwrap(
        api.GET('/api/v1/epg/schedule', { params: { query: { channel_id: channelId ?? '', date: day, tz: 'UTC' } } }),
      ),
    enabled: Boolean(channelId && day),
    staleTime: 60_000,
  });
  if (!at || !schedule.data) return null;
  const t = at.getTime();
  return (
    schedule.data.entries.find((e) => new Date(e.start_time).getTime() <= t && t < new Date(e.end_time).getTime()) ??
    null
  );
}
