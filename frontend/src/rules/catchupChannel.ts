// Which channel Catch-Up by channel opens on: the one asked for in the address if it offers
// Catch-Up, else the first (in channel order) that has aired something, else the first.

export function openingChannel<C extends { id: string }>(
  channels: readonly C[],
  asked: string | null,
  withContent: ReadonlySet<string>,
): C | undefined {
  return channels.find((c) => c.id === asked) ?? channels.find((c) => withContent.has(c.id)) ?? channels[0];
}
