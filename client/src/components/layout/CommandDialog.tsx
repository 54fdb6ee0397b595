import { Command } from "cmdk";
import { useNavigate } from "react-router-dom";
import { useMutation, useQuery } from "@apollo/client";
import { Dialog, DialogContent, DialogTitle } from "@/components/ui/dialog";
import { CreateWorkflowMutation, WorkflowsQuery } from "@/graphql/documents";
import { useCommands } from "@/lib/commands";
import { useErrorToast } from "@/lib/useErrorToast";

const PAGES = [
  { label: "Workflows", to: "/workflows" },
  { label: "Gallery", to: "/gallery" },
  { label: "Runs", to: "/runs" },
  { label: "LoRAs", to: "/loras" },
  { label: "Billing", to: "/billing" },
];

export default function CommandDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const navigate = useNavigate();
  const showError = useErrorToast();
  const { data } = useQuery(WorkflowsQuery, { skip: !open });
  const [create] = useMutation(CreateWorkflowMutation);
  const screen = useCommands();
  const go = (to: string) => {
    onOpenChange(false);
    navigate(to);
  };
  const act = (run: () => void) => {
    onOpenChange(false);
    run();
  };
  const newWorkflow = async () => {
    try {
      const result = await create({ variables: { input: { name: "Untitled workflow", nodes: [], edges: [] } } });
      if (result.data) navigate(`/workflows/${result.data.createWorkflow.id}`);
    } catch (error) {
      showError(error);
    }
  };
  const groups = [...new Set(screen.map((c) => c.group))];
  const item = "flex cursor-default items-center gap-2 rounded-sm px-2 py-1.5 text-sm text-foreground data-[selected=true]:bg-accent data-[disabled=true]:opacity-50";
  const heading = "text-xs text-muted-foreground [&_[cmdk-group-heading]]:px-2 [&_[cmdk-group-heading]]:py-1.5";
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="max-w-xl p-0">
        <DialogTitle className="sr-only">Command palette</DialogTitle>
        <Command label="Command palette" className="flex flex-col">
          <Command.Input placeholder="Type a command, a page or a workflow…" className="h-12 border-b bg-transparent px-4 text-sm outline-none" />
          <Command.List className="max-h-96 overflow-y-auto p-2">
            <Command.Empty className="p-4 text-sm text-muted-foreground">Nothing found.</Command.Empty>
            {groups.map((group) => (
              <Command.Group key={group} heading={group} className={heading}>
                {screen.filter((c) => c.group === group).map((c) => (
                  <Command.Item key={c.id} value={`${c.label} ${c.keywords ?? ""}`} disabled={c.disabled} onSelect={() => act(c.run)} className={item}>
                    {c.label}
                    {c.shortcut && <kbd className="ml-auto font-mono text-[10px] text-muted-foreground">{c.shortcut}</kbd>}
                  </Command.Item>
                ))}
              </Command.Group>
            ))}
            <Command.Group heading="Actions" className={heading}>
              <Command.Item value="New workflow create" onSelect={() => act(() => void newWorkflow())} className={item}>New workflow</Command.Item>
              <Command.Item value="New from template" onSelect={() => go("/workflows?templates=1")} className={item}>New from a template…</Command.Item>
              <Command.Item value="Open gallery" onSelect={() => go("/gallery")} className={item}>Open the gallery</Command.Item>
            </Command.Group>
            <Command.Group heading="Pages" className={heading}>
              {PAGES.map((p) => (
                <Command.Item key={p.to} value={`Go to ${p.label}`} onSelect={() => go(p.to)} className={item}>{p.label}</Command.Item>
              ))}
            </Command.Group>
            <Command.Group heading="Workflows" className={heading}>
              {data?.workflows.edges.map(({ node }) => (
                <Command.Item key={node.id} value={`workflow ${node.name} ${node.id}`} onSelect={() => go(`/workflows/${node.id}`)} className={item}>
                  {node.name}
                </Command.Item>
              ))}
            </Command.Group>
          </Command.List>
        </Command>
      </DialogContent>
    </Dialog>
  );
}
