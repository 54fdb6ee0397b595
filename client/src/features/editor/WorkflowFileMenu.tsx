import { Download, Keyboard, MoreVertical } from "lucide-react";
import { Button } from "@/components/ui/button";
import { DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuTrigger, MenuShortcut } from "@/components/ui/dropdown-menu";
import type { Graph } from "./graph";
import { fileName, toWorkflowFile } from "./workflowFile";

/** The workflow as a file, and the editor's help. */
export function WorkflowFileMenu({ graph, onShortcuts }: { graph: Graph; onShortcuts: () => void }) {
  return (
    <DropdownMenu>
      <DropdownMenuTrigger asChild>
        <Button variant="ghost" size="icon" aria-label="More workflow actions"><MoreVertical /></Button>
      </DropdownMenuTrigger>
      <DropdownMenuContent align="end">
        <DropdownMenuItem onSelect={() => download(graph)} data-testid="export-workflow"><Download /> Export as JSON</DropdownMenuItem>
        <DropdownMenuItem onSelect={onShortcuts}><Keyboard /> Keyboard shortcuts<MenuShortcut>?</MenuShortcut></DropdownMenuItem>
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

function download(graph: Graph) {
  const blob = new Blob([JSON.stringify(toWorkflowFile(graph), null, 2)], { type: "application/json" });
  const url = URL.createObjectURL(blob);
  const link = document.createElement("a");
  link.href = url;
  link.download = fileName(graph.name);
  link.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
