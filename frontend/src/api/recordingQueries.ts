// Cloud recordings (README, "Recordings API"): the viewer's recordings and series, and the actions on them.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from './client';

export type Recording = Schemas['RecordingOut'];
export type SeriesRecording = Schemas['SeriesRecordingOut'];

export const recordingKeys = {
  all: ['recordings'] as const,
  list: ['recordings', 'list'] as const,
  series: ['recordings', 'series'] as const,
};

/** Every recording of the viewer (the page shows them all) with the quota; polled, since a
 * scheduled one starts and a recording one finishes while the page is open. */
export function useRecordings() {
  return useQuery({
    queryKey: recordingKeys.list,
    queryFn: () => unwrap(api.GET('/api/v1/recordings', { params: { query: { limit: 200 } } })),
    staleTime: 10_000,
    refetchInterval: 30_000,
  });
}

export function useSeriesRecordings() {
  return useQuery({
    queryKey: recordingKeys.series,
    queryFn: () => unwrap(api.GET('/api/v1/recordings/series')),
    staleTime: 10_000,
  });
}

export function useRecord() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (entryId: string) =>
      unwrap(api.POST('/api/v1/recordings', { body: { schedule_entry_id: entryId } })),
    onSettled: () => client.invalidateQueries({ queryKey: recordingKeys.all }),
  });
}

export function useRecordSeries() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (seriesId: string) => unwrap(api.POST('/api/v1/recordings/series', { body: { series_id: seriesId } })),
    onSettled: () => client.invalidateQueries({ queryKey: recordingKeys.all }),
  });
}

/** A delete that also counts as done when the thing is already gone (another device deleted it). */
async function deleted(call: Promise<{ response: Response }>): Promise<void> {
  const { response } = await call;
  if (!response.ok && response.status !== 404) throw new Error(`HTTP ${response.status}`);
}

export function useDeleteRecording() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      deleted(api.DELETE('/api/v1/recordings/{recording_id}', { params: { path: { recording_id: id } } })),
    onSettled: () => client.invalidateQueries({ queryKey: recordingKeys.all }),
  });
}

export function useDeleteSeriesRecording() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (id: string) =>
      deleted(
        api.DELETE('/api/v1/recordings/series/{series_recording_id}', {
          params: { path: { series_recording_id: id } },
        }),
      ),
    onSettled: () => client.invalidateQueries({ queryKey: recordingKeys.all }),
  });
}
