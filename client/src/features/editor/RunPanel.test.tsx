import { render, screen } from "@testing-library/react";
import type { RunFieldsFragment } from "@/gql/graphql";
import { RunPanel } from "./RunPanel";

type NodeRun = RunFieldsFragment["nodeRuns"][number];

function nodeRun(nodeId: string, status: NodeRun["status"], logs: string[] = [], error: string | null = null): NodeRun {
  return {
    __typename: "NodeRun", id: `nr-${nodeId}`, nodeId, modelId: "fal-ai/flux/dev", status, logs, error,
    queuePosition: null, progress: null, startedAt: null, finishedAt: null, outputs: [],
  } as NodeRun;
}

function renderRun(status: RunFieldsFragment["status"], nodeRuns: NodeRun[]) {
  const run = {
    __typename: "Run", id: "r1", status, estimatedCostCents: 8, costCents: 3, createdAt: "2026-12-08T00:00:00Z",
    finishedAt: null, workflowId: "w1", nodeRuns,
  } as RunFieldsFragment;
  render(<RunPanel run={run} onCancel={vi.fn()} nodeName={(id) => `Node ${id}`} />);
}

function noteOf(nodeId: string): string {
  const item = screen.getByText(`Node ${nodeId}`).closest("li");
  return item?.querySelector("pre")?.textContent ?? "";
}

describe("RunPanel", () => {
  it("shows a node's last four log lines", () => {
    renderRun("RUNNING", [nodeRun("a", "RUNNING", ["step 1/8", "step 2/8", "step 3/8", "step 4/8", "step 5/8"])]);
    expect(noteOf("a")).toBe("step 2/8\nstep 3/8\nstep 4/8\nstep 5/8");
  });

  it("says logs may still come while a node waits or runs, and that there were none once it is done", () => {
    renderRun("SUCCEEDED", [nodeRun("a", "RUNNING"), nodeRun("b", "SUCCEEDED"), nodeRun("c", "QUEUED")]);
    expect(noteOf("a")).toBe("No logs yet");
    expect(noteOf("c")).toBe("No logs yet");
    expect(noteOf("b")).toBe("No logs");
  });

  it("shows a failed node's error instead of its logs", () => {
    renderRun("FAILED", [nodeRun("a", "FAILED", ["step 1/8"], "fal rejected the prompt")]);
    expect(noteOf("a")).toBe("fal rejected the prompt");
  });
});
