import { ClipboardPaste, Copy, CopyPlus, Dices, Play, Plus, Trash2 } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import {
  DropdownMenu, DropdownMenuContent, DropdownMenuItem, DropdownMenuLabel, DropdownMenuSeparator,
  DropdownMenuSub, DropdownMenuSubContent, DropdownMenuSubTrigger, DropdownMenuTrigger, MenuShortcut,
} from "@/components/ui/dropdown-menu";
import { modelsAccepting, modelsProducing, portLabel, type Cell, type ModelInfo } from "./graph";

/** Where a wire dragged out of a socket was let go on empty canvas. */
export interface LooseWire { nodeId: string; port: string; type: string; from: "source" | "target" }

export type MenuState =
  | { kind: "node"; at: { x: number; y: number }; ids: string[] }
  | { kind: "edge"; at: { x: number; y: number }; edgeId: string }
  | { kind: "pane"; at: { x: number; y: number }; cell: Cell }
  | { kind: "wire"; at: { x: number; y: number }; cell: Cell; wire: LooseWire };

export interface CanvasActions {
  runNodes: (ids: string[]) => void;
  /** Runs the nodes again with a new seed instead of reusing their last output. */
  reroll: (ids: string[]) => void;
  duplicate: (ids: string[]) => void;
  copy: (ids: string[]) => void;
  paste: (cell?: Cell) => void;
  canPaste: () => boolean;
  remove: (ids: string[]) => void;
  removeEdge: (edgeId: string) => void;
  addNode: (model: ModelInfo, cell: Cell, wire?: LooseWire, params?: Record<string, unknown>) => void;
}

/** The right-click menu of the canvas: for nodes, wires, empty cells, and a wire let go on a cell. */
export function CanvasMenu({ menu, models, actions, onClose }: {
  menu: MenuState | null;
  models: ModelInfo[];
  actions: CanvasActions;
  onClose: () => void;
}) {
  return (
    <DropdownMenu open={Boolean(menu)} onOpenChange={(open) => !open && onClose()} modal={false}>
      <DropdownMenuTrigger asChild>
        {/* An invisible anchor at the pointer: the menu opens where the user clicked. */}
        <span aria-hidden className="pointer-events-none fixed size-px" style={{ left: menu?.at.x ?? 0, top: menu?.at.y ?? 0 }} />
      </DropdownMenuTrigger>
      <DropdownMenuContent align="start" className="w-56" data-testid="canvas-menu" onCloseAutoFocus={(e) => e.preventDefault()}>
        {menu && <MenuItems menu={menu} models={models} actions={actions} />}
      </DropdownMenuContent>
    </DropdownMenu>
  );
}

function MenuItems({ menu, models, actions }: { menu: MenuState; models: ModelInfo[]; actions: CanvasActions }) {
  switch (menu.kind) {
    case "node": {
      const several = menu.ids.length > 1 ? ` ${menu.ids.length} nodes` : "";
      return (
        <>
          <DropdownMenuItem onSelect={() => actions.runNodes(menu.ids)}><Play /> Run{several || " this"}</DropdownMenuItem>
          <DropdownMenuItem onSelect={() => actions.reroll(menu.ids)} data-testid="menu-new-seed"><Dices /> New seed{several}</DropdownMenuItem>
          <DropdownMenuItem onSelect={() => actions.duplicate(menu.ids)}><CopyPlus /> Duplicate{several}<MenuShortcut>Ctrl D</MenuShortcut></DropdownMenuItem>
          <DropdownMenuItem onSelect={() => actions.copy(menu.ids)}><Copy /> Copy{several}<MenuShortcut>Ctrl C</MenuShortcut></DropdownMenuItem>
          <DropdownMenuSeparator />
          <DropdownMenuItem onSelect={() => actions.remove(menu.ids)} className="text-destructive"><Trash2 /> Delete{several}<MenuShortcut>Del</MenuShortcut></DropdownMenuItem>
        </>
      );
    }
    case "edge":
      return <DropdownMenuItem onSelect={() => actions.removeEdge(menu.edgeId)} className="text-destructive"><Trash2 /> Delete wire</DropdownMenuItem>;
    case "pane":
      return (
        <>
          <DropdownMenuSub>
            <DropdownMenuSubTrigger><Plus /> Add node here</DropdownMenuSubTrigger>
            <DropdownMenuSubContent>
              {models.map((model) => <ModelItem key={model.id} model={model} onSelect={() => actions.addNode(model, menu.cell)} />)}
            </DropdownMenuSubContent>
          </DropdownMenuSub>
          <DropdownMenuItem disabled={!actions.canPaste()} onSelect={() => actions.paste(menu.cell)}><ClipboardPaste /> Paste here<MenuShortcut>Ctrl V</MenuShortcut></DropdownMenuItem>
        </>
      );
    case "wire": {
      const { wire } = menu;
      const options = wire.from === "source" ? modelsAccepting(models, wire.type) : modelsProducing(models, wire.type);
      return (
        <>
          <DropdownMenuLabel>{wire.from === "source" ? `Send ${portLabel(wire.port)} to a new node` : `Feed ${portLabel(wire.port)} from a new node`}</DropdownMenuLabel>
          {options.length === 0 && <DropdownMenuItem disabled>No model takes this</DropdownMenuItem>}
          {options.map(({ model }) => <ModelItem key={model.id} model={model} onSelect={() => actions.addNode(model, menu.cell, wire)} />)}
        </>
      );
    }
  }
}

function ModelItem({ model, onSelect }: { model: ModelInfo; onSelect: () => void }) {
  return (
    <DropdownMenuItem disabled={!model.allowed} onSelect={onSelect} data-testid={`menu-model-${model.id}`}>
      <span className="truncate">{model.name}</span>
      {!model.allowed && <Badge variant="secondary" className="ml-auto">Pro</Badge>}
    </DropdownMenuItem>
  );
}
