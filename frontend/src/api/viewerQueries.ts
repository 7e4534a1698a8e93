// Queries of the browsing pages: home rails, the guide, the Catch-Up page, notifications.

import { useInfiniteQuery, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { browserTimeZone } from '../rules/localDays';
import { api, unwrap, type Schemas } from './client';
import type { paths } from './schema';

export type Tz = NonNullable<NonNullable<paths['/api/v1/epg/guide']['get']['parameters']['query']>['tz']>;
export type Guide = Schemas['EpgGuideOut'];
export type GuideChannel = Schemas['EpgGuideChannelOut'];
export type GuideEntry = Schemas['EpgGuideEntryOut'];
export type CatchupProgram = Schemas['CatchupProgramOut'];
export type ContinueItem = Schemas['ContinueWatchingItemOut'];
export type Notification = Schemas['NotificationOut'];

/** The viewer's zone as the API names it (the browser's; the API checks it). */
export const viewerZone = (): Tz => browserTimeZone() as Tz;

export const browseKeys = {
  guide: (date: string, tz: string) => ['epg', 'guide', date, tz] as const,
  continueWatching: ['viewing', 'continue'] as const,
  recentlyAired: ['tstv', 'recent'] as const,
  byChannel: (channel: string) => ['tstv', 'catchup', 'channel', channel] as const,
  byDate: (date: string, tz: string, genre: string, channel: string) =>
    ['tstv', 'catchup', 'date', date, tz, genre, channel] as const,
  notifications: ['notifications'] as const,
};

export function useGuide(date: string, tz: Tz) {
  return useQuery({
    queryKey: browseKeys.guide(date, tz),
    queryFn: () => unwrap(api.GET('/api/v1/epg/guide', { params: { query: { date, tz } } })),
    staleTime: 30_000,
    refetchInterval: 60_000, // what is on air and what has aired move with the clock
  });
}

/** Continue Watching: fresh whenever the viewer comes back (from the player, to the window). */
export function useContinueWatching() {
  return useQuery({
    queryKey: browseKeys.continueWatching,
    queryFn: () => unwrap(api.GET('/api/v1/viewing/continue-watching', { params: { query: { limit: 20 } } })),
    staleTime: 0,
    refetchOnMount: 'always',
    refetchOnWindowFocus: 'always',
  });
}

export function useRecentlyAired() {
  return useQuery({
    queryKey: browseKeys.recentlyAired,
    queryFn: () => unwrap(api.GET('/api/v1/tstv/recently-aired', { params: { query: { limit: 20 } } })),
    staleTime: 30_000,
  });
}

const PAGE = 30;

/** A channel's catch-up, newest first, a page at a time. */
export function useCatchupByChannel(channelId: string) {
  return useInfiniteQuery({
    queryKey: browseKeys.byChannel(channelId),
    enabled: Boolean(channelId),
    initialPageParam: 0,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/tstv/catchup/{channel_id}', {
          params: { path: { channel_id: channelId }, query: { limit: PAGE, offset: pageParam } },
        }),
      ),
    getNextPageParam: (last) => (last.offset + last.programs.length < last.total ? last.offset + PAGE : undefined),
  });
}

/** One day's catch-up across channels, filtered. */
export function useCatchupByDate(date: string, tz: Tz, genre: string, channel: string) {
  return useInfiniteQuery({
    queryKey: browseKeys.byDate(date, tz, genre, channel),
    initialPageParam: 0,
    queryFn: ({ pageParam }) =>
      unwrap(
        api.GET('/api/v1/tstv/catchup', {
          params: {
            query: {
              date,
              tz,
              limit: PAGE,
              offset: pageParam,
              ...(genre ? { genre } : {}),
              ...(channel ? { channel_id: channel } : {}),
            },
          },
        }),
      ),
    getNextPageParam: (last) => (last.offset + last.programs.length < last.total ? last.offset + PAGE : undefined),
  });
}

/** In-app notifications; new ones appear within a minute without a reload. */
export function useNotifications() {
  return useQuery({
    queryKey: browseKeys.notifications,
    queryFn: () => unwrap(api.GET('/api/v1/notifications', { params: { query: { limit: 50 } } })),
    refetchInterval: 30_000,
  });
}

export function useMarkRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      unwrap(api.POST('/api/v1/notifications/{notification_id}/read', { params: { path: { notification_id: id } } })),
    onSuccess: () => client.invalidateQueries({ queryKey: browseKeys.notifications }),
  });
}

/** The still of a programme's own recording (public, long-cached); callers fall back to the logo. */
export function stillUrl(entryId: string): string {
  return `/api/v1/epg/programmes/${entryId}/still.jpg`;
}
