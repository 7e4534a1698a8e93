// TanStack Query hooks over the typed client: one place names each query's key and freshness.

import { useQuery } from '@tanstack/react-query';
import { ApiError, api, unwrap, type Schemas } from './client';

export type EpgChannel = Schemas['EpgChannelOut'];
export type Programme = Schemas['EpgProgrammeOut'];
export type OnAir = Schemas['StartoverInfoOut'];
export type Bookmark = Schemas['BookmarkOut'];

export const keys = {
  config: ['config'] as const,
  me: ['me'] as const,
  channels: ['epg', 'channels'] as const,
  onAir: (channelId: string) => ['tstv', 'onAir', channelId] as const,
  programme: (entryId: string) => ['epg', 'programme', entryId] as const,
  schedule: (channelId: string, date: string) => ['epg', 'schedule', channelId, date] as const,
  bookmark: (type: string, entryId: string) => ['viewing', 'bookmark', type, entryId] as const,
};

export function useAppConfig() {
  return useQuery({
    queryKey: keys.config,
    queryFn: () => unwrap(api.GET('/api/v1/config')),
    staleTime: Number.POSITIVE_INFINITY,
  });
}

export function useMe() {
  return useQuery({ queryKey: keys.me, queryFn: () => unwrap(api.GET('/api/v1/auth/me')), staleTime: 60_000 });
}

/** The live channels with the programme on each; fresh every 30 s (progress bars move). */
export function useChannels() {
  return useQuery({
    queryKey: keys.channels,
    queryFn: () => unwrap(api.GET('/api/v1/epg/channels')),
    refetchInterval: 30_000,
    staleTime: 10_000,
  });
}

/** The programme on air on a channel now; null when nothing is. */
export function useOnAir(channelId: string) {
  return useQuery({
    queryKey: keys.onAir(channelId),
    queryFn: async (): Promise<OnAir | null> => {
      try {
        return await unwrap(
          api.GET('/api/v1/tstv/startover/{channel_id}', { params: { path: { channel_id: channelId } } }),
        );
      } catch (e) {
        if (e instanceof ApiError && e.status === 404 && e.detail === 'nothing_on_air') return null;
        throw e;
      }
    },
    staleTime: 5_000,
    // Fetch again as the programme ends, so "on air" never names a programme that is over.
    refetchInterval: (query) => {
      const end = query.state.data?.schedule_entry.end_time;
      return end ? Math.min(60_000, Math.max(1_000, new Date(end).getTime() - Date.now() + 500)) : 30_000;
    },
  });
}

export function useProgramme(entryId: string | undefined) {
  return useQuery({
    queryKey: keys.programme(entryId ?? ''),
    queryFn: () =>
      unwrap(api.GET('/api/v1/epg/programmes/{entry_id}', { params: { path: { entry_id: entryId ?? '' } } })),
    enabled: Boolean(entryId),
    staleTime: 5_000,
  });
}

/** A saved position, or null when there is none (404). */
export async function fetchBookmark(
  type: 'tstv_catchup' | 'tstv_startover',
  entryId: string,
): Promise<Bookmark | null> {
  try {
    return await unwrap(
      api.GET('/api/v1/viewing/bookmarks/{content_type}/{content_id}', {
        params: { path: { content_type: type, content_id: entryId } },
      }),
    );
  } catch (e) {
    if (e instanceof ApiError && e.status === 404) return null;
    throw e;
  }
}
