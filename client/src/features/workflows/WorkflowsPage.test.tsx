import { fireEvent, render, screen, waitFor } from "@testing-library/react";
import userEvent from "@testing-library/user-event";
import { MockedProvider, type MockedResponse } from "@apollo/client/testing";
import { MemoryRouter } from "react-router-dom";
import { GraphQLError } from "graphql";
import { DeleteWorkflowMutation, RestoreWorkflowMutation, WorkflowsQuery } from "@/graphql/documents";
import { Toaster } from "@/components/ui/toast";
import { createCache } from "@/lib/apollo";
import { WorkflowsPage } from "./WorkflowsPage";

const workflow = (id: string, name: string) => ({
  __typename: "Workflow" as const, id, name, version: 1, updatedAt: new Date().toISOString(),
  nodes: [], edges: [], warnings: [], runs: { __typename: "RunConnection" as const, edges: [] },
});
const list: MockedResponse = {
  request: { query: WorkflowsQuery, variables: {} },
  result: { data: { workflows: { __typename: "WorkflowConnection", edges: [
    { __typename: "WorkflowEdge", cursor: "1", node: workflow("w1", "Lighthouse") },
    { __typename: "WorkflowEdge", cursor: "2", node: workflow("w2", "Harbour") },
  ], pageInfo: { __typename: "PageInfo", hasNextPage: false, endCursor: "2" } } } },
};

function renderPage(deleteResult: MockedResponse["result"] | { errors: GraphQLError[] }, more: MockedResponse[] = []) {
  const remove: MockedResponse = { request: { query: DeleteWorkflowMutation, variables: { id: "w1" } }, delay: 50, ...("errors" in (deleteResult as object) ? { result: deleteResult as never } : { result: deleteResult }) };
  render(
    <MockedProvider mocks={[list, remove, ...more]} cache={createCache()}>
      <MemoryRouter><WorkflowsPage /><Toaster /></MemoryRouter>
    </MockedProvider>,
  );
}

describe("WorkflowsPage", () => {
  it("shows skeletons, then the workflows", async () => {
    renderPage({ data: { deleteWorkflow: true } });
    expect(screen.getByRole("heading", { name: "Workflows" })).toBeInTheDocument();
    expect(document.querySelector('[aria-busy="true"]')).not.toBeNull();
    expect(await screen.findByText("Lighthouse")).toBeInTheDocument();
  });

  it("offers Undo, which restores the workflow", async () => {
    const { runs: _runs, ...fields } = workflow("w1", "Lighthouse");
    const restored = vi.fn(() => ({ data: { restoreWorkflow: fields } }));
    const restore: MockedResponse = { request: { query: RestoreWorkflowMutation, variables: { id: "w1" } }, result: restored };
    renderPage({ data: { deleteWorkflow: true } }, [restore, list]);
    await userEvent.click(await screen.findByRole("button", { name: "Delete Lighthouse" }));
    expect(await screen.findByText("Deleted Lighthouse")).toBeInTheDocument();
    // Toasts are app-wide, so this runs before the other tests that delete (and toast).
    fireEvent.click(screen.getByRole("button", { name: "Undo" }));
    await waitFor(() => expect(restored).toHaveBeenCalledTimes(1));
    expect(await screen.findByText("Lighthouse")).toBeInTheDocument();
  });

  it("removes a deleted workflow at once", async () => {
    renderPage({ data: { deleteWorkflow: true } });
    await userEvent.click(await screen.findByRole("button", { name: "Delete Lighthouse" }));
    expect(screen.queryByText("Lighthouse")).not.toBeInTheDocument();
    expect(screen.getByText("Harbour")).toBeInTheDocument();
  });

  it("brings it back, and says why, when the server refuses", async () => {
    renderPage({ errors: [new GraphQLError("Workflow w1 was not found", { extensions: { code: "NOT_FOUND" } })] });
    await userEvent.click(await screen.findByRole("button", { name: "Delete Lighthouse" }));
    expect(screen.queryByText("Lighthouse")).not.toBeInTheDocument();
    await waitFor(() => expect(screen.getByText("Lighthouse")).toBeInTheDocument());
    expect(await screen.findByText("Not found")).toBeInTheDocument();
    expect(screen.getByText("Workflow w1 was not found")).toBeInTheDocument();
  });
});
