// Channel up / down while watching live: the next channel in the list, round the end.

import { useCallback } from 'react';
import { useNavigate } from 'react-router';
import type { EpgChannel } from '../api/queries';
import { watchPath } from '../routes';

export function useChannelZap(channels: EpgChannel[] | undefined, channelId: string): (step: 1 | -1) => void {
  const navigate = useNavigate();
  return useCallback(
    (step: 1 | -1) => {
      const list = channels ?? [];
      const i = list.findIndex((c) => c.id === channelId);
      if (list.length < 2 || i < 0) return;
      const next = list[(i + step + list.length) % list.length];
      if (next) void navigate(watchPath('live', next.id), { replace: true });
    },
    [channels, channelId, navigate],
  );
}
