// IPTV links (docs/PRODUCT.md, 'IPTV export'): the viewer's links for IPTV players, made and revoked.

import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api, unwrap, type Schemas } from './client';

export type IptvLink = Schemas['IptvTokenOut'];
export type NewIptvLink = Schemas['IptvTokenCreatedOut'];

export const iptvKeys = { links: ['iptv', 'links'] as const };

export function useIptvLinks() {
  return useQuery({
    queryKey: iptvKeys.links,
    queryFn: () => unwrap(api.GET('/api/v1/iptv/tokens')),
    staleTime: 30_000,
  });
}

/** A new link: its URLs come only with this answer (the server keeps a hash of its secret). */
export function useCreateIptvLink() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: () => unwrap(api.POST('/api/v1/iptv/tokens')),
    onSettled: () => client.invalidateQueries({ queryKey: iptvKeys.links }),
  });
}

/** Revoking a link already gone (another device revoked it) counts as done. */
export function useRevokeIptvLink() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      const { response } = await api.DELETE('/api/v1/iptv/tokens/{token_id}', {
        params: { path: { token_id: id } },
      });
      if (!response.ok && response.status !== 404) throw new Error(`HTTP ${response.status}`);
    },
    onSettled: () => client.invalidateQueries({ queryKey: iptvKeys.links }),
  });
}
