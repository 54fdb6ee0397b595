import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";

const SHORTCUTS: [keys: string, what: string][] = [
  ["Ctrl Enter", "Run the workflow"],
  ["Ctrl K", "Commands: add a node, run, new workflow, go to…"],
  ["Ctrl C / Ctrl V", "Copy and paste nodes (also into another workflow)"],
  ["Ctrl D", "Duplicate the selected nodes"],
  ["Delete", "Delete the selected nodes or wire"],
  ["Ctrl Z / Ctrl Shift Z", "Undo / redo"],
  ["Shift click", "Add a node to the selection"],
  ["Shift drag", "Select the nodes in a box"],
  ["Right click", "Actions for a node, a wire or an empty cell"],
  ["Drag from a socket", "Let go on empty canvas to add a connected node"],
  ["?", "This list"],
];

/** Every editor shortcut in one place, opened with `?`. */
export function ShortcutSheet({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent>
        <DialogHeader>
          <DialogTitle>Keyboard shortcuts</DialogTitle>
          <DialogDescription>On a Mac, Cmd works wherever Ctrl is shown.</DialogDescription>
        </DialogHeader>
        <dl className="grid grid-cols-[auto_1fr] gap-x-4 gap-y-2 text-sm">
          {SHORTCUTS.map(([keys, what]) => (
            <div key={keys} className="contents">
              <dt><kbd className="whitespace-nowrap rounded border bg-muted px-1.5 py-0.5 font-mono text-xs">{keys}</kbd></dt>
              <dd className="text-muted-foreground">{what}</dd>
            </div>
          ))}
        </dl>
      </DialogContent>
    </Dialog>
  );
}
