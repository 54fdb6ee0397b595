import { useCallback, useEffect, useMemo, useState } from "react";
import { useApolloClient, useMutation, useSubscription } from "@apollo/client";
import { CancelRunMutation, RunEventsSubscription, RunWorkflowMutation } from "@/graphql/documents";
import type { RunFieldsFragment } from "@/gql/graphql";
import type { NodeRunView } from "./ModelNode";

const ACTIVE = ["QUEUED", "RUNNING"];
/** A node in these states may still change (and gain logs). */
export const OPEN_NODE = ["PENDING", "QUEUED", "RUNNING"];

/** The workflow's current run: started here, or still running from before (coming back to
 * a running workflow shows its live state). Every change arrives over the subscription. */
export function useRun(workflowId: string, latest: RunFieldsFragment | null | undefined) {
  const [run, setRun] = useState<RunFieldsFragment | null>(null);
  const client = useApolloClient();
  useEffect(() => {
    if (latest && !run) setRun(latest);
  }, [latest, run]);
  // Listen until the run and every node in it are final: after Cancel, the node fal was
  // working on ends after the run does, and must not stay "Running" until a reload.
  const live = run && (ACTIVE.includes(run.status) || run.nodeRuns.some((n) => OPEN_NODE.includes(n.status))) ? run.id : null;
  useSubscription(RunEventsSubscription, {
    variables: { runId: live ?? "" },
    skip: !live,
    onData: ({ data }) => {
      const next = data.data?.runEvents.run;
      if (!next) return;
      setRun(next);
      // Money moved: the sidebar's credits and the gallery change when a run ends.
      if (!ACTIVE.includes(next.status)) void client.refetchQueries({ include: ["Viewer", "Assets"] });
    },
  });
  const [runMutation, { loading: starting }] = useMutation(RunWorkflowMutation);
  const [cancelMutation] = useMutation(CancelRunMutation);

  /** `key` belongs to the user's action: a retry of that action passes the same key, so the
   * server answers with the run it already started instead of charging for a second one. */
  const start = useCallback(async (key: string, targets?: string[], reroll?: string[]) => {
    const result = await runMutation({ variables: { id: workflowId, key, targets: targets ?? null, reroll: reroll ?? null } });
    const started = result.data?.runWorkflow;
    if (started) setRun(started);
    return started;
  }, [runMutation, workflowId]);

  const cancel = useCallback(async () => {
    if (!run) return;
    // Answer at once; the subscription confirms (or corrects) what the server did, and
    // stays open until every node has its final state.
    setRun({ ...run, status: "CANCELLED" });
    const result = await cancelMutation({ variables: { id: run.id } });
    if (result.data) setRun(result.data.cancelRun);
  }, [cancelMutation, run]);

  const byNode = useMemo(() => {
    const views = new Map<string, NodeRunView>();
    for (const n of run?.nodeRuns ?? []) {
      views.set(n.nodeId, {
        status: n.status,
        queuePosition: n.queuePosition,
        progress: n.progress,
        lastLog: n.logs[n.logs.length - 1] ?? null,
        error: n.error,
        outputs: n.outputs,
      });
    }
    return views;
  }, [run]);

  return { run, byNode, start, cancel, starting, active: Boolean(run && ACTIVE.includes(run.status)) };
}
