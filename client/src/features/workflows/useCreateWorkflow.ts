import { useMutation } from "@apollo/client";
import { useNavigate } from "react-router-dom";
import { CreateWorkflowMutation } from "@/graphql/documents";
import { useErrorToast } from "@/lib/useErrorToast";
import type { Graph } from "@/features/editor/graph";

/** Creates a workflow (blank, from a template or from a file) and opens it. */
export function useCreateWorkflow() {
  const navigate = useNavigate();
  const showError = useErrorToast();
  const [create, { loading }] = useMutation(CreateWorkflowMutation, {
    // The list shows the new workflow when the user comes back to it.
    refetchQueries: ["Workflows"],
  });
  const createWorkflow = async (graph: Graph): Promise<boolean> => {
    try {
      const result = await create({ variables: { input: { name: graph.name, nodes: graph.nodes, edges: graph.edges } } });
      const id = result.data?.createWorkflow.id;
      if (id) navigate(`/workflows/${id}`);
      return Boolean(id);
    } catch (error) {
      showError(error, () => void createWorkflow(graph));
      return false;
    }
  };
  return { createWorkflow, creating: loading };
}
