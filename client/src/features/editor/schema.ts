/** Reading a model's JSON Schema into form fields, and checking values as the user types. */

export interface FieldSpec {
  name: string;
  title: string;
  kind: "prompt" | "text" | "integer" | "number" | "enum" | "boolean" | "seed" | "image" | "loras" | "size";
  minimum?: number;
  maximum?: number;
  options?: string[];
  defaultValue?: unknown;
  /** For LoRAs: how many may be stacked, and the strength's bounds. */
  maxItems?: number;
  scale?: { minimum: number; maximum: number; default: number };
}

interface Property {
  type?: string | string[];
  title?: string;
  enum?: string[];
  minimum?: number;
  maximum?: number;
  default?: unknown;
  format?: string;
  anyOf?: Property[];
  maxItems?: number;
  items?: { properties?: Record<string, Property> };
}

export function fieldsOf(schema: unknown, imageInputs: string[]): FieldSpec[] {
  const properties = ((schema as { properties?: Record<string, Property> }).properties ?? {});
  return Object.entries(properties).map(([name, p]) => {
    const base = { name, title: p.title ?? name, defaultValue: p.default };
    if (imageInputs.includes(name)) return { ...base, kind: "image" } as FieldSpec;
    if (name === "loras") {
      const scale = p.items?.properties?.scale;
      return {
        ...base,
        kind: "loras",
        maxItems: p.maxItems ?? 3,
        scale: { minimum: scale?.minimum ?? 0, maximum: scale?.maximum ?? 4, default: Number(scale?.default ?? 1) },
      } as FieldSpec;
    }
    if (name === "seed") return { ...base, kind: "seed", minimum: p.minimum, maximum: p.maximum } as FieldSpec;
    if (name === "image_size") {
      const options = p.anyOf?.find((a) => a.enum)?.enum ?? [];
      return { ...base, kind: "size", options } as FieldSpec;
    }
    if (p.enum) return { ...base, kind: "enum", options: p.enum } as FieldSpec;
    const type = Array.isArray(p.type) ? p.type[0] : p.type;
    if (type === "boolean") return { ...base, kind: "boolean" } as FieldSpec;
    if (type === "integer" || type === "number") return { ...base, kind: type, minimum: p.minimum, maximum: p.maximum } as FieldSpec;
    return { ...base, kind: p.format === "textarea" || name.includes("prompt") ? "prompt" : "text" } as FieldSpec;
  });
}

/** A message for a value that the API would reject, or null. */
export function fieldError(field: FieldSpec, value: unknown): string | null {
  if (value === undefined || value === null || value === "") return null;
  if (field.kind === "integer" || field.kind === "number" || field.kind === "seed") {
    const n = Number(value);
    if (!Number.isFinite(n)) return "Enter a number";
    if ((field.kind === "integer" || field.kind === "seed") && !Number.isInteger(n)) return "Enter a whole number";
    if (field.minimum !== undefined && n < field.minimum) return `At least ${field.minimum}`;
    if (field.maximum !== undefined && n > field.maximum) return `At most ${field.maximum}`;
  }
  if (field.kind === "enum" && field.options && !field.options.includes(String(value))) return "Pick one of the options";
  if (field.kind === "image" && typeof value === "string" && !/^(https:\/\/\S+|[0-9a-f-]{36})$/i.test(value)) {
    return "Use an https URL, a gallery image or an upload";
  }
  return null;
}
