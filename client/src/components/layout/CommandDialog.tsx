import { Command } from "cmdk";
import { useNavigate } from "react-router-dom";
import { useQuery } from "@apollo/client";
import { Dialog, DialogContent, DialogTitle } from "@/components/ui/dialog";
import { WorkflowsQuery } from "@/graphql/documents";

const PAGES = [
  { label: "Workflows", to: "/workflows" },
  { label: "Gallery", to: "/gallery" },
  { label: "Runs", to: "/runs" },
  { label: "LoRAs", to: "/loras" },
  { label: "Billing", to: "/billing" },
];

export default function CommandDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const navigate = useNavigate();
  const { data } = useQuery(WorkflowsQuery, { skip: !open });
  const go = (to: string) => {
    onOpenChange(false);
    navigate(to);
  };
  const item = "flex cursor-default items-center gap-2 rounded-sm px-2 py-1.5 text-sm data-[selected=true]:bg-accent";
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="max-w-xl p-0">
        <DialogTitle className="sr-only">Command palette</DialogTitle>
        <Command label="Command palette" className="flex flex-col">
          <Command.Input placeholder="Type a page or workflow…" className="h-12 border-b bg-transparent px-4 text-sm outline-none" />
          <Command.List className="max-h-80 overflow-y-auto p-2">
            <Command.Empty className="p-4 text-sm text-muted-foreground">Nothing found.</Command.Empty>
            <Command.Group heading="Pages" className="text-xs text-muted-foreground">
              {PAGES.map((p) => (
                <Command.Item key={p.to} onSelect={() => go(p.to)} className={item}>{p.label}</Command.Item>
              ))}
            </Command.Group>
            <Command.Group heading="Workflows" className="text-xs text-muted-foreground">
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
