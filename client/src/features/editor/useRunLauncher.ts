import { useCallback, useRef, useState } from "react";

export interface RunAction {
  /** The idempotency key of this user action; retries of the action reuse it. */
  key: string;
  targets?: string[];
  /** Nodes to run afresh with a new seed rather than reuse. */
  reroll?: string[];
}

interface Steps {
  /** Saves pending edits; false when the graph cannot be saved (and so cannot run). */
  save: () => Promise<boolean>;
  start: (key: string, targets?: string[], reroll?: string[]) => Promise<unknown>;
  onUnsaved: () => void;
  onError: (error: unknown, retry: () => void) => void;
}

/** Starting a run is one user action at a time: while one is saving or starting, another
 * press (Ctrl+Enter twice, a double click) joins it instead of starting a second paid run. */
export function useRunLauncher(steps: Steps) {
  const stepsRef = useRef(steps);
  stepsRef.current = steps;
  const inFlight = useRef<Promise<void> | null>(null);
  const [launching, setLaunching] = useState(false);

  const launch = useCallback((action: RunAction): Promise<void> => {
    if (inFlight.current) return inFlight.current;
    setLaunching(true);
    const attempt = (async () => {
      const { save, start, onUnsaved, onError } = stepsRef.current;
      try {
        if (!(await save())) {
          onUnsaved();
          return;
        }
        await start(action.key, action.targets, action.reroll);
      } catch (error) {
        onError(error, () => void launch(action));
      } finally {
        inFlight.current = null;
        setLaunching(false);
      }
    })();
    inFlight.current = attempt;
    return attempt;
  }, []);

  /** A new user action: a fresh key, minted now. */
  const run = useCallback((targets?: string[], reroll?: string[]) => launch({ key: crypto.randomUUID(), targets, reroll }), [launch]);

  return { run, retry: launch, launching };
}
