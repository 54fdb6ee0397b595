import { useState } from "react";
import { Link } from "react-router-dom";
import { Lock, Search } from "lucide-react";
import { Badge } from "@/components/ui/badge";
import { Input } from "@/components/ui/input";
import { cn } from "@/lib/utils";
import type { ModelInfo } from "./graph";
import { MODEL_MIME } from "./nodeActions";

/** The catalog, searchable. Click a model to add it, or drag it onto a cell. Models the viewer's
 * plan does not include are marked before any click, with the way to get them. */
export function Palette({ models, onAdd }: { models: ModelInfo[]; onAdd: (model: ModelInfo) => void }) {
  const [query, setQuery] = useState("");
  const shown = models.filter((m) => `${m.name} ${m.id}`.toLowerCase().includes(query.toLowerCase()));
  return (
    <div className="flex flex-col gap-3">
      <div className="relative">
        <Search className="absolute left-2.5 top-2.5 size-4 text-muted-foreground" />
        <Input placeholder="Search models" aria-label="Search models" className="pl-8" value={query} onChange={(e) => setQuery(e.target.value)} />
      </div>
      <ul className="flex flex-col gap-1.5">
        {shown.map((model) => (
          <li key={model.id}>
            <button
              disabled={!model.allowed}
              onClick={() => onAdd(model)}
              draggable={model.allowed}
              onDragStart={(e) => {
                e.dataTransfer.setData(MODEL_MIME, model.id);
                e.dataTransfer.effectAllowed = "copy";
              }}
              data-testid={`palette-${model.id}`}
              title={model.allowed ? "Click to add, or drag onto a cell" : model.whyNotAllowed ?? undefined}
              className={cn(
                "flex w-full flex-col items-start gap-0.5 rounded-md border px-3 py-2 text-left text-sm hover:bg-accent disabled:cursor-not-allowed disabled:opacity-70",
                model.allowed && "cursor-grab active:cursor-grabbing",
              )}
            >
              <span className="flex w-full items-center gap-1.5 font-medium">
                {model.name}
                {!model.allowed && (
                  <Badge variant="secondary" className="ml-auto"><Lock aria-label="Locked" /> Pro</Badge>
                )}
              </span>
              <span className="text-xs text-muted-foreground">{model.allowed ? model.priceDescription : model.whyNotAllowed}</span>
            </button>
          </li>
        ))}
      </ul>
      {models.some((m) => !m.allowed) && (
        <div className="rounded-md border border-dashed p-3 text-xs text-muted-foreground">
          Models marked Pro come with the Pro plan.{" "}
          <Link to="/billing" className="font-medium text-primary hover:underline">Upgrade</Link>
        </div>
      )}
    </div>
  );
}
