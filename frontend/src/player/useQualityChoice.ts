// The viewer's quality choice: it holds for the whole visit, across mode switches (each new load
// applies it).

import { useCallback, useRef, useState } from 'react';
import type { QualityChoice } from '../rules/quality';
import type { PlayerController } from './playerController';

export interface QualityChoiceState {
  quality: QualityChoice;
  /** The choice for a load that starts later (read outside rendering). */
  qualityRef: { readonly current: QualityChoice };
  choose: (choice: QualityChoice) => void;
}

export function useQualityChoice(controller: PlayerController | null): QualityChoiceState {
  const [quality, setQuality] = useState<QualityChoice>('auto');
  const qualityRef = useRef<QualityChoice>('auto');
  const choose = useCallback(
    (choice: QualityChoice) => {
      qualityRef.current = choice;
      setQuality(choice);
      controller?.setQuality(choice);
    },
    [controller],
  );
  return { quality, qualityRef, choose };
}
