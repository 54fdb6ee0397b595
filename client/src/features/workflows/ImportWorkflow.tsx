import { useRef } from "react";
import { Upload } from "lucide-react";
import { Button } from "@/components/ui/button";
import { toast } from "@/components/ui/toast";
import { parseWorkflowFile } from "@/features/editor/workflowFile";
import { useCreateWorkflow } from "./useCreateWorkflow";

/** A file picker for a workflow exported from Lattice; a bad file is explained, not sent. */
export function ImportWorkflowButton({ variant = "outline" }: { variant?: "outline" | "ghost" }) {
  const input = useRef<HTMLInputElement>(null);
  const { createWorkflow, creating } = useCreateWorkflow();
  return (
    <>
      <Button variant={variant} onClick={() => input.current?.click()} disabled={creating}>
        <Upload /> Import
      </Button>
      <input
        ref={input}
        type="file"
        accept="application/json,.json"
        className="sr-only"
        aria-label="Import a workflow file"
        data-testid="import-workflow"
        onChange={async (e) => {
          const file = e.target.files?.[0];
          e.target.value = "";
          if (!file) return;
          const parsed = parseWorkflowFile(await file.text());
          if (!parsed.ok) {
            toast({ title: `${file.name} cannot be imported`, description: parsed.error, variant: "destructive" });
            return;
          }
          await createWorkflow(parsed.graph);
        }}
      />
    </>
  );
}
