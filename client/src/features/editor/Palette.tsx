import { useState } from "react";
import { Lock, Search } from "lucide-react";
import { Input } from "@/components/ui/input";
import { Tooltip } from "@/components/ui/tooltip";
import { cn } from "@/lib/utils";
import type { ModelInfo } from "./graph";

/** The catalog, searchable; models the viewer may not use are shown locked, with why. */
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
        {shown.map((model) => {
          const button = (
            <button
              disabled={!model.allowed}
              onClick={() => onAdd(model)}
              data-testid={`palette-${model.id}`}
              className={cn(
                "flex w-full flex-col items-start gap-0.5 rounded-md border px-3 py-2 text-left text-sm hover:bg-accent disabled:cursor-not-allowed disabled:opacity-60",
              )}
            >
              <span className="flex w-full items-center gap-1.5 font-medium">
                {model.name}
                {!model.allowed && <Lock className="ml-auto size-3.5" aria-label="Locked" />}
              </span>
              <span className="text-xs text-muted-foreground">{model.allowed ? model.priceDescription : model.whyNotAllowed}</span>
            </button>
          );
          return <li key={model.id}>{model.allowed ? button : <Tooltip content={model.whyNotAllowed}><span>{button}</span></Tooltip>}</li>;
        })}
      </ul>
    </div>
  );
}
