import { useState } from "react";
import { Dices, ImageIcon, Upload, X } from "lucide-react";
import { Button } from "@/components/ui/button";
import { Input, Textarea } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Slider } from "@/components/ui/slider";
import { fieldError, fieldsOf, type FieldSpec } from "./schema";
import { LoraPicker } from "./LoraPicker";
import { humanize, imageParamsOf } from "./graph";
import type { GraphNode, ModelInfo } from "./graph";

interface Props {
  node: GraphNode;
  model: ModelInfo;
  wiredInputs: string[];
  onChange: (params: Record<string, unknown>) => void;
  onPickImage: (field: string) => void;
  onUpload: (field: string, file: File) => void;
}

/** The selected node's settings, generated from its model's parameter schema. */
export function ParamForm({ node, model, wiredInputs, onChange, onPickImage, onUpload }: Props) {
  const imageInputs = imageParamsOf(model);
  const fields = fieldsOf(model.paramsSchema, imageInputs);
  const set = (name: string, value: unknown) => {
    const next = { ...node.params };
    if (value === undefined || value === "") delete next[name];
    else next[name] = value;
    onChange(next);
  };
  return (
    <form className="grid gap-4" onSubmit={(e) => e.preventDefault()} aria-label={`${model.name} settings`}>
      {fields.map((field) =>
        wiredInputs.includes(field.name) ? (
          <p key={field.name} className="rounded-md bg-muted px-3 py-2 text-xs text-muted-foreground">
            <span className="font-medium text-foreground">{field.title}</span> comes from the wire.
          </p>
        ) : (
          <Field key={field.name} field={field} modelId={model.id} value={node.params[field.name]} onChange={(v) => set(field.name, v)}
            onPickImage={() => onPickImage(field.name)} onUpload={(file) => onUpload(field.name, file)} />
        ),
      )}
    </form>
  );
}

interface FieldProps {
  field: FieldSpec;
  modelId: string;
  value: unknown;
  onChange: (value: unknown) => void;
  onPickImage: () => void;
  onUpload: (file: File) => void;
}

function Field({ field, modelId, value, onChange, onPickImage, onUpload }: FieldProps) {
  const id = `param-${field.name}`;
  // What the user typed, even when it is not (yet) a valid number.
  const [draft, setDraft] = useState<string | null>(null);
  const shown = draft ?? (value === undefined || value === null ? "" : String(value));
  const error = fieldError(field, draft ?? value);
  const label = <Label htmlFor={id}>{field.title}</Label>;
  const message = <p className="min-h-4 text-xs text-destructive" role={error ? "alert" : undefined}>{error}</p>;

  switch (field.kind) {
    case "prompt":
    case "text":
      return (
        <div className="grid gap-1.5">
          {label}
          {field.kind === "prompt" ? (
            <Textarea id={id} value={shown} rows={3} onChange={(e) => onChange(e.target.value)} />
          ) : (
            <Input id={id} value={shown} onChange={(e) => onChange(e.target.value)} />
          )}
        </div>
      );
    case "enum":
    case "size":
      return (
        <div className="grid gap-1.5">
          {label}
          <Select id={id} aria-label={field.title} value={typeof value === "string" ? value : String(field.defaultValue ?? "")}
            onValueChange={onChange} options={(field.options ?? []).map((o) => ({ value: o, label: humanize(o) }))} />
        </div>
      );
    case "boolean":
      return (
        <label className="flex items-center gap-2 text-sm">
          <input id={id} type="checkbox" className="size-4 accent-[var(--primary)]" checked={Boolean(value ?? field.defaultValue)}
            onChange={(e) => onChange(e.target.checked)} />
          {field.title}
        </label>
      );
    case "integer":
    case "number": {
      const bounded = field.minimum !== undefined && field.maximum !== undefined;
      const numeric = Number(value ?? field.defaultValue ?? field.minimum ?? 0);
      return (
        <div className="grid gap-1.5">
          {label}
          <div className="flex items-center gap-3">
            {bounded && (
              <Slider aria-label={`${field.title} slider`} min={field.minimum} max={field.maximum} step={field.kind === "integer" ? 1 : 0.1}
                value={[Math.min(field.maximum!, Math.max(field.minimum!, numeric))]}
                onValueChange={([v]) => { setDraft(null); onChange(v); }} />
            )}
            <Input id={id} inputMode="decimal" className="w-20" aria-invalid={Boolean(error)} value={shown}
              onChange={(e) => {
                setDraft(e.target.value);
                const n = Number(e.target.value);
                if (e.target.value !== "" && !fieldError(field, e.target.value)) onChange(n);
              }}
              onBlur={() => setDraft(null)} />
          </div>
          {message}
        </div>
      );
    }
    case "seed":
      return (
        <div className="grid gap-1.5">
          {label}
          <div className="flex gap-2">
            <Input id={id} inputMode="numeric" placeholder="Random each run" aria-invalid={Boolean(error)} value={shown}
              onChange={(e) => {
                setDraft(e.target.value);
                if (e.target.value === "") onChange(undefined);
                else if (!fieldError(field, e.target.value)) onChange(Number(e.target.value));
              }}
              onBlur={() => setDraft(null)} />
            <Button type="button" variant="outline" size="icon" aria-label="Random seed"
              onClick={() => { setDraft(null); onChange(Math.floor(Math.random() * 2 ** 31)); }}>
              <Dices />
            </Button>
          </div>
          <p className="text-xs text-muted-foreground">Unchanged nodes reuse their last output for free, whatever the seed; "New seed" in the node's menu draws again.</p>
          {message}
        </div>
      );
    case "image":
      return (
        <div className="grid gap-1.5">
          {label}
          <div className="flex gap-2">
            <Input id={id} placeholder="https://… or pick from the gallery" aria-invalid={Boolean(error)} value={shown}
              onChange={(e) => onChange(e.target.value)} />
            {shown && (
              <Button type="button" variant="ghost" size="icon" aria-label="Clear image" onClick={() => onChange(undefined)}><X /></Button>
            )}
          </div>
          <div className="flex gap-2">
            <Button type="button" variant="outline" size="sm" onClick={onPickImage}><ImageIcon /> From gallery</Button>
            <Button type="button" variant="outline" size="sm" asChild>
              <label className="cursor-pointer">
                <Upload /> Upload
                <input type="file" accept="image/png,image/jpeg,image/webp" className="sr-only"
                  onChange={(e) => { const file = e.target.files?.[0]; if (file) onUpload(file); }} />
              </label>
            </Button>
          </div>
          {message}
        </div>
      );
    case "loras":
      return <LoraPicker field={field} modelId={modelId} value={value} onChange={onChange} />;
  }
}
