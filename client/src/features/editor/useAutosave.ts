import { useCallback, useEffect, useRef, useState } from "react";
import { useMutation } from "@apollo/client";
import { UpdateWorkflowMutation } from "@/graphql/documents";
import { describeError, type Problem } from "@/lib/errors";
import type { Graph } from "./graph";

export type SaveState =
  | { state: "saved" }
  | { state: "dirty" }
  | { state: "saving" }
  | { state: "invalid"; message: string; problems: Problem[] }
  | { state: "conflict"; currentVersion: number }
  | { state: "error"; message: string };

const DELAY_MS = 700;

/** Saves the graph shortly after each edit, with the version it was based on, so a change
 * made in another tab is reported as a conflict rather than overwritten. A copy of unsaved
 * work is kept locally until the server has it. */
export function useAutosave(workflowId: string, graph: Graph | null, version: number | null) {
  const [status, setStatusState] = useState<SaveState>({ state: "saved" });
  // The timer reads the latest status from here: a side effect inside a state updater runs
  // twice under StrictMode (it did, and saved twice).
  const statusRef = useRef<SaveState>(status);
  const setStatus = useCallback((next: SaveState | ((s: SaveState) => SaveState)) => {
    statusRef.current = typeof next === "function" ? next(statusRef.current) : next;
    setStatusState(statusRef.current);
  }, []);
  const [update] = useMutation(UpdateWorkflowMutation);
  // What the saved draft's nodes still lack (the server's word on the last saved graph).
  const [warnings, setWarnings] = useState<Problem[]>([]);
  const versionRef = useRef(version);
  const latest = useRef(graph);
  latest.current = graph;
  const savedJson = useRef<string | null>(null);
  const inFlight = useRef<Promise<boolean> | null>(null);
  const timer = useRef<ReturnType<typeof setTimeout> | null>(null);

  // A (re)load from the server sets the baseline; it is not an edit.
  const markLoaded = useCallback((loaded: Graph, loadedVersion: number, loadedWarnings: Problem[] = []) => {
    versionRef.current = loadedVersion;
    setWarnings(loadedWarnings);
    savedJson.current = JSON.stringify(loaded);
    localStorage.removeItem(draftKey(workflowId));
    setStatus({ state: "saved" });
  }, [workflowId, setStatus]);

  const save = useCallback(async (): Promise<boolean> => {
    if (!graph || versionRef.current === null) return false;
    const json = JSON.stringify(graph);
    if (json === savedJson.current) return true;
    // One save at a time; the one before may already have saved exactly this graph.
    while (inFlight.current) await inFlight.current;
    if (json === savedJson.current) return true;
    setStatus({ state: "saving" });
    const attempt = (async () => {
      try {
        const result = await update({
          variables: { id: workflowId, expectedVersion: versionRef.current!, input: graph },
        });
        versionRef.current = result.data?.updateWorkflow.version ?? versionRef.current;
        if (result.data) setWarnings(toProblems(result.data.updateWorkflow.warnings));
        savedJson.current = json;
        // Edits made while this save was on its way are still only here: their local copy
        // now builds on the version just saved (else a reload would drop them).
        if (latest.current && JSON.stringify(latest.current) !== json) {
          localStorage.setItem(draftKey(workflowId), JSON.stringify({ version: versionRef.current, graph: latest.current }));
          setStatus({ state: "dirty" });
        } else {
          localStorage.removeItem(draftKey(workflowId));
          setStatus({ state: "saved" });
        }
        return true;
      } catch (error) {
        const described = describeError(error);
        if (described.code === "CONFLICT") {
          const ext = (error as { graphQLErrors?: { extensions?: { currentVersion?: number } }[] }).graphQLErrors?.[0]?.extensions;
          setStatus({ state: "conflict", currentVersion: ext?.currentVersion ?? -1 });
        } else if (described.code === "VALIDATION_ERROR") {
          setStatus({ state: "invalid", message: described.message, problems: described.problems });
        } else {
          setStatus({ state: "error", message: described.message });
        }
        return false;
      } finally {
        inFlight.current = null;
      }
    })();
    inFlight.current = attempt;
    return attempt;
  }, [graph, update, workflowId, setStatus]);

  useEffect(() => {
    if (!graph || savedJson.current === null) return;
    if (JSON.stringify(graph) === savedJson.current) return;
    // With the version it was based on: restored only over that same version, never over
    // a newer one saved elsewhere.
    localStorage.setItem(draftKey(workflowId), JSON.stringify({ version: versionRef.current, graph }));
    setStatus((s) => (s.state === "conflict" ? s : { state: "dirty" }));
    if (timer.current) clearTimeout(timer.current);
    timer.current = setTimeout(() => {
      timer.current = null;
      if (statusRef.current.state !== "conflict") void save();
    }, DELAY_MS);
    return () => {
      if (timer.current) clearTimeout(timer.current);
      timer.current = null;
    };
  }, [graph, save, workflowId, setStatus]);

  /** Saves now (before a run); true when the server has exactly this graph. */
  const flush = useCallback(async () => {
    if (timer.current) clearTimeout(timer.current);
    return save();
  }, [save]);

  /** Keep this tab's version: save over the other tab's change, knowingly. */
  const overwrite = useCallback(async (currentVersion: number) => {
    versionRef.current = currentVersion;
    savedJson.current = "";
    return save();
  }, [save]);

  return { status, warnings, flush, markLoaded, overwrite };
}

export function toProblems(warnings: readonly { reason: string; message: string; nodeId?: string | null; field?: string | null }[]): Problem[] {
  return warnings.map((w) => ({ reason: w.reason, message: w.message, nodeId: w.nodeId ?? undefined, field: w.field ?? undefined }));
}

/** Unsaved work left by an earlier visit (a reload before the save, an expired session), when
 * it was based on the version now loaded. */
export function takeLocalDraft(workflowId: string, loadedVersion: number): Graph | null {
  const stored = localStorage.getItem(draftKey(workflowId));
  localStorage.removeItem(draftKey(workflowId));
  if (!stored) return null;
  try {
    const draft = JSON.parse(stored) as { version?: number; graph?: Graph };
    return draft.version === loadedVersion && draft.graph ? draft.graph : null;
  } catch {
    return null;
  }
}

export function draftKey(workflowId: string): string {
  return `lattice-draft-${workflowId}`;
}
