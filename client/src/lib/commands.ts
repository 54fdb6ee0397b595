import { useSyncExternalStore } from "react";

/** Actions the current screen offers to the command palette (Ctrl+K), beside navigation. */
export interface PaletteCommand {
  id: string;
  label: string;
  group: string;
  keywords?: string;
  shortcut?: string;
  disabled?: boolean;
  run: () => void;
}

let commands: PaletteCommand[] = [];
const listeners = new Set<() => void>();
const sources = new Map<symbol, PaletteCommand[]>();

function publish() {
  commands = [...sources.values()].flat();
  for (const listener of listeners) listener();
}

/** Offers these commands until the returned function is called (on unmount). */
export function registerCommands(list: PaletteCommand[]): () => void {
  const source = Symbol("commands");
  sources.set(source, list);
  publish();
  return () => {
    sources.delete(source);
    publish();
  };
}

export function useCommands(): PaletteCommand[] {
  return useSyncExternalStore(
    (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    () => commands,
  );
}
