import { lazy, Suspense } from "react";
import { useMutation, useQuery, type Reference } from "@apollo/client";
import { Link, useNavigate, useSearchParams } from "react-router-dom";
import { LayoutTemplate, Plus, Trash2, Workflow as WorkflowIcon } from "lucide-react";
import { CreateWorkflowMutation, DeleteWorkflowMutation, RestoreWorkflowMutation, WorkflowsQuery } from "@/graphql/documents";
import { toast } from "@/components/ui/toast";
import { relativeTime } from "@/lib/utils";
import { useErrorToast } from "@/lib/useErrorToast";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";
import { RunStatusBadge } from "@/features/runs/RunStatusBadge";
import { plural } from "@/lib/plural";
import { ImportWorkflowButton } from "./ImportWorkflow";

// The dialog's code (and Radix Dialog) loads when it is first opened, off the dashboard's first load.
const TemplatesDialog = lazy(() => import("./TemplatesDialog").then((m) => ({ default: m.TemplatesDialog })));

export function WorkflowsPage() {
  const { data, loading } = useQuery(WorkflowsQuery, { fetchPolicy: "cache-and-network" });
  const navigate = useNavigate();
  const showError = useErrorToast();
  const [create, { loading: creating }] = useMutation(CreateWorkflowMutation);
  const [remove] = useMutation(DeleteWorkflowMutation);
  const [restore] = useMutation(RestoreWorkflowMutation);
  const [search, setSearch] = useSearchParams();
  const templatesOpen = search.get("templates") === "1";
  const setTemplatesOpen = (open: boolean) => setSearch(open ? { templates: "1" } : {}, { replace: !open });

  const newWorkflow = async () => {
    try {
      const result = await create({ variables: { input: { name: "Untitled workflow", nodes: [], edges: [] } } });
      const id = result.data?.createWorkflow.id;
      if (id) navigate(`/workflows/${id}`);
    } catch (error) {
      showError(error, newWorkflow);
    }
  };

  const deleteWorkflow = (id: string, name: string) =>
    remove({
      variables: { id },
      // Gone at once; if the server refuses, Apollo rolls the cache back and it reappears.
      optimisticResponse: { deleteWorkflow: true },
      update(cache, { data: result }) {
        if (!result?.deleteWorkflow) return;
        cache.modify({
          fields: {
            workflows(existing, { readField }) {
              const connection = existing as unknown as { edges: { node: Reference }[] };
              return { ...connection, edges: connection.edges.filter((edge) => readField("id", edge.node) !== id) };
            },
          },
        });
      },
    }).then(() => {
      // Nothing is one misclick from gone: the delete can be taken back.
      toast({
        title: `Deleted ${name}`,
        action: { label: "Undo", onClick: () => void restore({ variables: { id }, refetchQueries: ["Workflows"] }).catch((error: unknown) => showError(error)) },
      });
    }).catch((error: unknown) => showError(error));

  const edges = data?.workflows.edges ?? [];
  return (
    <div className="flex flex-col gap-6 p-4 sm:p-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Workflows</h1>
        <div className="flex flex-wrap gap-2">
          <ImportWorkflowButton />
          <Button variant="outline" onClick={() => setTemplatesOpen(true)}><LayoutTemplate /> From template</Button>
          <Button onClick={() => void newWorkflow()} disabled={creating}>
            <Plus /> {creating ? "Creating…" : "New workflow"}
          </Button>
        </div>
      </div>
      {templatesOpen && (
        <Suspense fallback={null}><TemplatesDialog open onOpenChange={setTemplatesOpen} /></Suspense>
      )}
      {loading && !data ? (
        <div className="grid grid-cols-[repeat(auto-fill,minmax(260px,1fr))] gap-4" aria-busy="true">
          {Array.from({ length: 6 }, (_, i) => <Skeleton key={i} className="h-32" />)}
        </div>
      ) : edges.length === 0 ? (
        <Card className="flex flex-col items-center gap-3 p-12 text-center">
          <WorkflowIcon className="size-10 text-muted-foreground" />
          <p className="font-medium">No workflows yet</p>
          <p className="text-sm text-muted-foreground">Place a FLUX node on the grid, wire it into Wan 2.2, and run it, or start from a template.</p>
          <div className="flex flex-wrap justify-center gap-2">
            <Button variant="outline" onClick={() => setTemplatesOpen(true)}><LayoutTemplate /> From template</Button>
            <Button onClick={() => void newWorkflow()}><Plus /> New workflow</Button>
          </div>
        </Card>
      ) : (
        <ul className="grid grid-cols-[repeat(auto-fill,minmax(260px,1fr))] gap-4">
          {edges.map(({ node }) => {
            const lastRun = node.runs.edges[0]?.node;
            return (
              <li key={node.id}>
                <Card className="group relative flex h-32 flex-col justify-between p-4 transition-colors hover:border-primary/50">
                  <Link to={`/workflows/${node.id}`} className="absolute inset-0 rounded-xl" aria-label={`Open ${node.name}`} />
                  <div className="flex items-start justify-between gap-2">
                    <p className="truncate font-medium">{node.name}</p>
                    <Button
                      variant="ghost" size="icon"
                      className="relative z-10 -mr-2 -mt-2 opacity-0 group-hover:opacity-100 focus:opacity-100"
                      aria-label={`Delete ${node.name}`}
                      onClick={() => void deleteWorkflow(node.id, node.name)}
                    >
                      <Trash2 />
                    </Button>
                  </div>
                  <div className="flex items-center gap-2 text-xs text-muted-foreground">
                    <Badge variant="outline">{plural(node.nodes.length, "node")}</Badge>
                    {lastRun && <RunStatusBadge status={lastRun.status} />}
                    <span className="ml-auto">{relativeTime(node.updatedAt)}</span>
                  </div>
                </Card>
              </li>
            );
          })}
        </ul>
      )}
    </div>
  );
}
