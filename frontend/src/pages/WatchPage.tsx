import { useParams, useSearchParams } from 'react-router';
import { Player } from '../player/Player';
import { parseWatchTarget } from '../routes';
import { NotFoundPage } from './NotFoundPage';

/** /watch/{mode}/{channel}[/{programme}]: the player, or not-found for an address that is not one. */
export default function WatchPage() {
  const params = useParams();
  const [search] = useSearchParams();
  const target = parseWatchTarget(params.mode, params.channelId, params.entryId, search.get('recording'));
  if (!target) return <NotFoundPage message="This is not a programme or channel we know." />;
  return <Player target={target} linkStart={search.get('t')} />;
}
