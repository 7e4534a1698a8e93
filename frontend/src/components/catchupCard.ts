import type { EpgChannel } from '../api/queries';
import { stillUrl, type CatchupProgram } from '../api/viewerQueries';
import { spanOf } from '../rules/programmeProgress';
import { programmeState, type ProgrammeState } from '../rules/programmeState';
import type { CardProgramme } from './ProgrammeCard';

/** A listed catch-up programme (always available: the listing only holds those) as a card. */
export function catchupCard(p: CatchupProgram, channel: EpgChannel | undefined, now: Date): { p: CardProgramme; state: ProgrammeState } {
  const e = p.schedule_entry;
  return {
    p: {
      entryId: e.id,
      channelId: p.channel.id,
      channelName: p.channel.name,
      channelNumber: channel?.number,
      logoUrl: channel?.logo_url,
      title: e.title,
      span: spanOf(e),
      still: stillUrl(e.id),
    },
    state: programmeState(
      {
        ...e,
        status: 'aired',
        startover_available: false,
        catchup: { available: true, reason: null, expires_at: p.expires_at },
        bookmark_position_seconds: p.bookmark_position_seconds,
      },
      now,
    ),
  };
}
