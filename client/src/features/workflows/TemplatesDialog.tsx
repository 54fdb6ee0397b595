import { useQuery } from "@apollo/client";
import { Link } from "react-router-dom";
import { ArrowRight } from "lucide-react";
import { AssetsQuery, LorasQuery, ModelsQuery } from "@/graphql/documents";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";
import { Skeleton } from "@/components/ui/skeleton";
import { TEMPLATES, type TemplateContext } from "./templates";
import { useCreateWorkflow } from "./useCreateWorkflow";

/** "New from template": a few ready graphs, each marked when the plan or the gallery lacks what it needs. */
export function TemplatesDialog({ open, onOpenChange }: { open: boolean; onOpenChange: (open: boolean) => void }) {
  const models = useQuery(ModelsQuery, { skip: !open });
  const images = useQuery(AssetsQuery, { variables: { kind: "IMAGE" }, skip: !open });
  const loras = useQuery(LorasQuery, { skip: !open });
  const { createWorkflow, creating } = useCreateWorkflow();
  const allowed = new Map(models.data?.models.map((m) => [m.id, m.allowed]) ?? []);
  const context: TemplateContext = {
    imageAssetId: images.data?.assets.edges[0]?.node.id ?? null,
    fluxLoraId: loras.data?.loras.find((l) => l.baseModel === "flux-dev")?.id ?? null,
  };
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="max-w-2xl">
        <DialogHeader>
          <DialogTitle>New from a template</DialogTitle>
          <DialogDescription>A ready graph to start from; change anything once it opens.</DialogDescription>
        </DialogHeader>
        <ul className="grid gap-3 sm:grid-cols-2">
          {TEMPLATES.map((template) => {
            const needsPro = template.models.some((id) => allowed.get(id) === false);
            const missing = template.missing(context);
            const loading = !models.data || (images.loading && !images.data);
            return (
              <li key={template.id} className="flex flex-col gap-2 rounded-lg border p-4" data-testid={`template-${template.id}`}>
                <div className="flex items-center gap-2 font-medium">
                  {template.name}
                  {needsPro && <Badge variant="secondary" className="ml-auto">Pro</Badge>}
                </div>
                <p className="flex-1 text-sm text-muted-foreground">{template.description}</p>
                {loading ? <Skeleton className="h-8 w-28" /> : needsPro ? (
                  <Button asChild size="sm" variant="outline" className="self-start"><Link to="/billing">Upgrade to use it</Link></Button>
                ) : missing ? (
                  <p className="text-xs text-muted-foreground">{missing}</p>
                ) : (
                  <Button size="sm" className="self-start" disabled={creating}
                    onClick={() => void createWorkflow(template.build(context))}>
                    Use this template <ArrowRight />
                  </Button>
                )}
              </li>
            );
          })}
        </ul>
      </DialogContent>
    </Dialog>
  );
}
