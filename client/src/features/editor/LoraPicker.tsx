import { useQuery } from "@apollo/client";
import { Link } from "react-router-dom";
import { ArrowDown, ArrowUp, Plus, X } from "lucide-react";
import { LorasQuery } from "@/graphql/documents";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Slider } from "@/components/ui/slider";
import type { FieldSpec } from "./schema";

export interface LoraChoice { lora_id: string; scale?: number }

/** The LoRA base model a node's model takes (the API's Lora.baseModel). */
export function loraBaseOf(modelId: string): string {
  return modelId.includes("wan") ? "wan-2.2" : "flux-dev";
}

const BASE_NAMES: Record<string, string> = { "flux-dev": "FLUX", "wan-2.2": "Wan 2.2" };

/** The viewer's LoRAs for this model, by name: stacked in order, each with its strength. */
export function LoraPicker({ field, modelId, value, onChange }: {
  field: FieldSpec;
  modelId: string;
  value: unknown;
  onChange: (value: LoraChoice[]) => void;
}) {
  const { data, loading } = useQuery(LorasQuery, { fetchPolicy: "cache-and-network" });
  const base = loraBaseOf(modelId);
  const mine = (data?.loras ?? []).filter((l) => l.baseModel === base);
  const chosen = Array.isArray(value) ? (value as LoraChoice[]) : [];
  const scale = field.scale ?? { minimum: 0, maximum: 4, default: 1 };
  const max = field.maxItems ?? 3;
  const available = mine.filter((l) => !chosen.some((c) => c.lora_id === l.id));
  const nameOf = (id: string) => data?.loras.find((l) => l.id === id)?.name ?? "A LoRA that was deleted";
  const set = (index: number, change: Partial<LoraChoice>) => onChange(chosen.map((c, i) => (i === index ? { ...c, ...change } : c)));
  const move = (index: number, by: number) => {
    const next = [...chosen];
    const [item] = next.splice(index, 1);
    next.splice(index + by, 0, item!);
    onChange(next);
  };
  return (
    <div className="grid gap-2" data-testid="lora-picker">
      <Label>LoRAs</Label>
      {loading && !data ? <Skeleton className="h-9" /> : (
        <>
          <ol className="grid gap-2">
            {chosen.map((choice, i) => (
              <li key={choice.lora_id} className="grid gap-1.5 rounded-md border p-2" data-testid="lora-choice">
                <div className="flex items-center gap-1">
                  <span className="min-w-0 flex-1 truncate text-sm font-medium">{nameOf(choice.lora_id)}</span>
                  <Button type="button" variant="ghost" size="icon" className="size-7" aria-label={`Move ${nameOf(choice.lora_id)} up`} disabled={i === 0} onClick={() => move(i, -1)}><ArrowUp /></Button>
                  <Button type="button" variant="ghost" size="icon" className="size-7" aria-label={`Move ${nameOf(choice.lora_id)} down`} disabled={i === chosen.length - 1} onClick={() => move(i, 1)}><ArrowDown /></Button>
                  <Button type="button" variant="ghost" size="icon" className="size-7" aria-label={`Remove ${nameOf(choice.lora_id)}`} onClick={() => onChange(chosen.filter((_, j) => j !== i))}><X /></Button>
                </div>
                <div className="flex items-center gap-3">
                  <Slider aria-label={`${nameOf(choice.lora_id)} strength`} min={scale.minimum} max={scale.maximum} step={0.05}
                    value={[choice.scale ?? scale.default]} onValueChange={([v]) => set(i, { scale: Math.round(v! * 100) / 100 })} />
                  <Input aria-label={`${nameOf(choice.lora_id)} strength value`} inputMode="decimal" className="h-8 w-16" value={String(choice.scale ?? scale.default)}
                    onChange={(e) => {
                      const n = Number(e.target.value);
                      if (e.target.value !== "" && Number.isFinite(n) && n >= scale.minimum && n <= scale.maximum) set(i, { scale: n });
                    }} />
                </div>
              </li>
            ))}
          </ol>
          {available.length > 0 && chosen.length < max && (
            <Select aria-label="Add a LoRA" value="" onValueChange={(id) => onChange([...chosen, { lora_id: id, scale: scale.default }])}
              options={available.map((l) => ({ value: l.id, label: l.name }))} placeholder="Add a LoRA…" />
          )}
          <p className="text-xs text-muted-foreground">
            {mine.length === 0
              ? `You have no ${BASE_NAMES[base] ?? base} LoRAs yet. `
              : chosen.length >= max ? `Up to ${max} LoRAs, applied in this order. ` : `Stack up to ${max}, applied in this order; strength ${scale.minimum} to ${scale.maximum}. `}
            <Link to="/loras" className="inline-flex items-center gap-0.5 font-medium text-primary hover:underline"><Plus className="size-3" /> Add a new LoRA</Link>
          </p>
        </>
      )}
    </div>
  );
}
