// The operator console's queries and actions over the typed client: one place names each query's
// key and freshness. Everything under ['admin'] is the operator's (cleared on sign-out).

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, type Schemas } from '../api/client';
import type { paths } from '../api/schema';
import { call } from './errors';
import type { RulesChanges } from './rulesForm';

export type EncoderStatus = Schemas['SimliveChannelStatus'];
export type EncoderAction = 'start' | 'stop' | 'restart';
export type Coverage = Schemas['ChannelCoverageOut'];
export type DiskBudget = Schemas['DiskOut'];
export type KeyInfo = Schemas['KeyInfoOut'];
export type ChannelKeys = Schemas['ChannelKeysOut'];
export type ChannelRules = Schemas['ChannelRulesOut'];
export type ScheduleEntry = Schemas['EpgScheduleEntryOut'];
export type Rights = Schemas['EntryRightsIn'];
export type UserRow = Schemas['UserOut'];
export type UserChange = Schemas['UserPatchIn'];
/** The IANA zones the API knows (the browser's own, in practice). */
type Zone = NonNullable<NonNullable<paths['/api/v1/epg/schedule']['get']['parameters']['query']>['tz']>;

/** The status page polls this often (docs/PRODUCT.md, J7: at least every 5 s). */
export const STATUS_POLL_MS = 2_500;
const COVERAGE_POLL_MS = 15_000;

export const adminKeys = {
  all: ['admin'] as const,
  status: ['admin', 'simlive', 'status'] as const,
  log: (channelKey: string, lines: number) => ['admin', 'simlive', 'log', channelKey, lines] as const,
  coverage: ['admin', 'archive', 'coverage'] as const,
  keys: (channelKey: string) => ['admin', 'drm', 'keys', channelKey] as const,
  revealed: (channelKey: string) => ['admin', 'drm', 'revealed', channelKey] as const,
  rules: ['admin', 'tstv', 'rules'] as const,
  schedules: ['admin', 'schedule'] as const,
  users: ['admin', 'users'] as const,
  schedule: (channelId: string, date: string, tz: string) => ['admin', 'schedule', channelId, date, tz] as const,
};

export function useEncoderStatus() {
  return useQuery({
    queryKey: adminKeys.status,
    queryFn: ({ signal }) => call(api.GET('/api/v1/admin/simlive/status', { signal })),
    refetchInterval: STATUS_POLL_MS,
    staleTime: 1_000,
  });
}

/** The tail of a channel's encoder log; `follow` refreshes it every 3 s. */
export function useEncoderLog(channelKey: string, lines: number, follow: boolean) {
  return useQuery({
    queryKey: adminKeys.log(channelKey, lines),
    queryFn: ({ signal }) =>
      call(
        api.GET('/api/v1/admin/simlive/{channel_key}/log', {
          params: { path: { channel_key: channelKey }, query: { lines } },
          signal,
        }),
      ),
    refetchInterval: follow ? 3_000 : false,
    staleTime: 0,
  });
}

/** One status row replaced in the polled list (the answer of an action is the row as it is now). */
function withRow(list: Schemas['SimliveStatusOut'] | undefined, row: EncoderStatus) {
  if (!list) return list;
  return { ...list, channels: list.channels.map((c) => (c.channel_key === row.channel_key ? row : c)) };
}

export function useEncoderAction(channelKey: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (action: EncoderAction) => {
      const params = { params: { path: { channel_key: channelKey } } };
      if (action === 'start') return call(api.POST('/api/v1/admin/simlive/{channel_key}/start', params));
      if (action === 'stop') return call(api.POST('/api/v1/admin/simlive/{channel_key}/stop', params));
      return call(api.POST('/api/v1/admin/simlive/{channel_key}/restart', params));
    },
    onSuccess: (row) => {
      client.setQueryData(adminKeys.status, (list: Schemas['SimliveStatusOut'] | undefined) => withRow(list, row));
    },
    onSettled: () => client.invalidateQueries({ queryKey: adminKeys.status }),
  });
}

export function useCleanup() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => call(api.POST('/api/v1/admin/simlive/cleanup')),
    onSettled: () =>
      Promise.all([
        client.invalidateQueries({ queryKey: adminKeys.status }),
        client.invalidateQueries({ queryKey: adminKeys.coverage }),
      ]),
  });
}

export function useCoverage() {
  return useQuery({
    queryKey: adminKeys.coverage,
    queryFn: ({ signal }) => call(api.GET('/api/v1/admin/archive/coverage', { signal })),
    refetchInterval: COVERAGE_POLL_MS,
    staleTime: 5_000,
  });
}

export function useChannelKeys(channelKey: string) {
  return useQuery({
    queryKey: adminKeys.keys(channelKey),
    queryFn: ({ signal }) =>
      call(
        api.GET('/api/v1/admin/drm/{channel_key}/keys', {
          params: { path: { channel_key: channelKey }, query: { limit: 20 } },
          signal,
        }),
      ),
    staleTime: 10_000,
    refetchInterval: 60_000,
  });
}

/** The active key's value, fetched only while the operator asked to see it and never kept. */
export function useRevealedKey(channelKey: string, enabled: boolean) {
  return useQuery({
    queryKey: adminKeys.revealed(channelKey),
    queryFn: async ({ signal }) => {
      const out = await call(
        api.GET('/api/v1/admin/drm/{channel_key}/keys', {
          params: { path: { channel_key: channelKey }, query: { reveal: true, limit: 1 } },
          signal,
        }),
      );
      return out.active ? { key_id: out.active.key_id, key_value_hex: out.active.key_value_hex } : null;
    },
    enabled,
    staleTime: 0,
    gcTime: 0,
    retry: false,
  });
}

export function useRotateKey(channelKey: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () =>
      call(api.POST('/api/v1/admin/drm/{channel_key}/rotate', { params: { path: { channel_key: channelKey } } })),
    onSettled: () => {
      client.removeQueries({ queryKey: adminKeys.revealed(channelKey) });
      return Promise.all([
        client.invalidateQueries({ queryKey: adminKeys.keys(channelKey) }),
        client.invalidateQueries({ queryKey: adminKeys.coverage }),
        client.invalidateQueries({ queryKey: adminKeys.status }),
      ]);
    },
  });
}

export function useRules() {
  return useQuery({
    queryKey: adminKeys.rules,
    queryFn: ({ signal }) => call(api.GET('/api/v1/admin/tstv/rules', { signal })),
    staleTime: 10_000,
  });
}

export function useSaveRules(channelId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (changes: RulesChanges) =>
      call(api.PUT('/api/v1/admin/tstv/rules/{channel_id}', { params: { path: { channel_id: channelId } }, body: changes })),
    onSuccess: (row) => {
      client.setQueryData(adminKeys.rules, (list: Schemas['RulesOut'] | undefined) =>
        list ? { channels: list.channels.map((c) => (c.channel_id === row.channel_id ? row : c)) } : list,
      );
      // The windows change what the archive page marks, and every programme's catch-up state.
      void client.invalidateQueries({ queryKey: adminKeys.coverage });
      void client.invalidateQueries({ queryKey: adminKeys.schedules });
    },
  });
}

export function useSchedule(channelId: string | null, date: string, tz: string) {
  return useQuery({
    queryKey: adminKeys.schedule(channelId ?? '', date, tz),
    queryFn: ({ signal }) =>
      call(
        api.GET('/api/v1/epg/schedule', {
          params: { query: { channel_id: channelId ?? '', date, tz: tz as Zone } },
          signal,
        }),
      ),
    enabled: Boolean(channelId && date),
    staleTime: 15_000,
    refetchInterval: 60_000,
  });
}

export function useSetRights(channelId: string, date: string, tz: string) {
  const client = useQueryClient();
  const key = adminKeys.schedule(channelId, date, tz);
  return useMutation({
    mutationFn: ({ entryId, rights }: { entryId: string; rights: Rights }) =>
      call(api.PUT('/api/v1/admin/schedule/{entry_id}/rights', { params: { path: { entry_id: entryId } }, body: rights })),
    onSuccess: (entry) => {
      client.setQueryData(key, (day: Schemas['EpgScheduleOut'] | undefined) =>
        day
          ? {
              ...day,
              entries: day.entries.map((e) =>
                e.id === entry.id
                  ? { ...e, startover_eligible: entry.startover_eligible, catchup_eligible: entry.catchup_eligible }
                  : e,
              ),
            }
          : day,
      );
      // Catch-up state ("available", "not eligible") is the server's to say.
      void client.invalidateQueries({ queryKey: key });
    },
  });
}

export type BackfillJob = Schemas['BackfillJobOut'];
const BACKFILL_POLL_MS = 2_000;

/** Backfill jobs (operator fills and the first run's): polled while one is queued or running. */
export function useBackfills() {
  const client = useQueryClient();
  return useQuery({
    queryKey: ['admin', 'archive', 'backfill'] as const,
    queryFn: async ({ signal }) => {
      const out = await call(api.GET('/api/v1/admin/archive/backfill', { signal }));
      const finished = out.jobs.filter((j) => j.state === 'done').length;
      if (finished !== lastFinished) {
        lastFinished = finished;
        void client.invalidateQueries({ queryKey: adminKeys.coverage }); // what they wrote shows at once
      }
      return out.jobs;
    },
    refetchInterval: (query) =>
      query.state.data?.some((j) => j.state === 'queued' || j.state === 'running') ? BACKFILL_POLL_MS : 15_000,
  });
}
let lastFinished = -1;

export function useStartBackfill() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: { channel_key: string; start: string; end: string }) =>
      call(api.POST('/api/v1/admin/archive/backfill', { body })),
    onSettled: () => client.invalidateQueries({ queryKey: ['admin', 'archive', 'backfill'] }),
  });
}

export function useUsers() {
  return useQuery({
    queryKey: adminKeys.users,
    queryFn: ({ signal }) => call(api.GET('/api/v1/admin/users', { signal })),
    staleTime: 10_000,
  });
}

/** An operator's change to an account: the user's next request sees it. */
export function useUpdateUser(userId: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (change: UserChange) =>
      call(api.PATCH('/api/v1/admin/users/{user_id}', { params: { path: { user_id: userId } }, body: change })),
    onSuccess: (row) => {
      client.setQueryData(adminKeys.users, (list: Schemas['UsersOut'] | undefined) =>
        list ? { users: list.users.map((u) => (u.id === row.id ? row : u)) } : list,
      );
    },
  });
}
