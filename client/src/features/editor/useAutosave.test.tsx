import { StrictMode, type ReactNode } from "react";
import { renderHook, waitFor } from "@testing-library/react";
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { UpdateWorkflowMutation } from "@/graphql/documents";
import { draftKey, takeLocalDraft, useAutosave } from "./useAutosave";
import type { Graph } from "./graph";

const loaded: Graph = { name: "w", nodes: [], edges: [] };
const edited: Graph = { name: "w edited", nodes: [], edges: [] };

describe("useAutosave", () => {
  it("saves an edit once under StrictMode", async () => {
    const calls = vi.fn();
    const mock: MockedResponse = {
      request: { query: UpdateWorkflowMutation, variables: { id: "w1", expectedVersion: 1, input: edited } },
      result: () => {
        calls();
        return { data: { updateWorkflow: { __typename: "Workflow", id: "w1", name: edited.name, version: 2, updatedAt: "2025-01-01T00:00:00Z", nodes: [], edges: [], warnings: [] } } };
      },
      maxUsageCount: 5,
    };
    const wrapper = ({ children }: { children: ReactNode }) => (
      <StrictMode><MockedProvider mocks={[mock]}>{children}</MockedProvider></StrictMode>
    );
    const { result, rerender } = renderHook(({ graph }) => useAutosave("w1", graph, 1), { wrapper, initialProps: { graph: loaded } });
    result.current.markLoaded(loaded, 1);
    rerender({ graph: edited });
    await waitFor(() => expect(result.current.status.state).toBe("saved"), { timeout: 3000 });
    await waitFor(() => expect(calls).toHaveBeenCalled(), { timeout: 3000 });
    // Long enough for a second, duplicate timer to have fired.
    await new Promise((r) => setTimeout(r, 900));
    expect(calls).toHaveBeenCalledTimes(1);
  });

  it("a flush during a save does not save the same graph again", async () => {
    const calls = vi.fn();
    const mock: MockedResponse = {
      request: { query: UpdateWorkflowMutation, variables: { id: "w1", expectedVersion: 1, input: edited } },
      delay: 100,
      result: () => {
        calls();
        return { data: { updateWorkflow: { __typename: "Workflow", id: "w1", name: edited.name, version: 2, updatedAt: "2025-01-01T00:00:00Z", nodes: [], edges: [], warnings: [] } } };
      },
      maxUsageCount: 5,
    };
    const wrapper = ({ children }: { children: ReactNode }) => <MockedProvider mocks={[mock]}>{children}</MockedProvider>;
    const { result, rerender } = renderHook(({ graph }) => useAutosave("w1", graph, 1), { wrapper, initialProps: { graph: loaded } });
    result.current.markLoaded(loaded, 1);
    rerender({ graph: edited });
    const [a, b] = await Promise.all([result.current.flush(), result.current.flush()]);
    expect(a && b).toBe(true);
    expect(calls).toHaveBeenCalledTimes(1);
  });

  it("an edit made while a save is on its way survives a reload, over the version that save made", async () => {
    localStorage.removeItem(draftKey("w1"));
    const later: Graph = { name: "w later", nodes: [], edges: [] };
    const mock: MockedResponse = {
      request: { query: UpdateWorkflowMutation, variables: { id: "w1", expectedVersion: 1, input: edited } },
      delay: 150,
      result: { data: { updateWorkflow: { __typename: "Workflow", id: "w1", name: edited.name, version: 2, updatedAt: "2025-01-01T00:00:00Z", nodes: [], edges: [], warnings: [] } } },
    };
    const wrapper = ({ children }: { children: ReactNode }) => <MockedProvider mocks={[mock]}>{children}</MockedProvider>;
    const { result, rerender } = renderHook(({ graph }) => useAutosave("w1", graph, 1), { wrapper, initialProps: { graph: loaded } });
    result.current.markLoaded(loaded, 1);
    rerender({ graph: edited });
    const saving = result.current.flush();
    rerender({ graph: later }); // edited again before the save answered
    await saving;
    // The page is reloaded now: the server has version 2 (without the later edit).
    expect(takeLocalDraft("w1", 2)).toEqual(later);
  });
});
