import { useState } from "react";
import { useMutation, useQuery } from "@apollo/client";
import { Trash2 } from "lucide-react";
import { AddLoraMutation, DeleteLoraMutation, LorasQuery } from "@/graphql/documents";
import { describeError } from "@/lib/errors";
import { useErrorToast } from "@/lib/useErrorToast";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { Badge } from "@/components/ui/badge";
import { useViewer } from "@/lib/useViewer";
import { Link } from "react-router-dom";
import { Tabs, TabsContent, TabsList, TabsTrigger } from "@/components/ui/tabs";
import { UploadLoraForm } from "./UploadLoraForm";

// Mirrors the API's LoRA hosts (LORA_HOSTS in services/assets/url_safety.py, also enforced by
// the database policy), said the way a person reads it.
const ACCEPTED_HOSTS = "Hugging Face (huggingface.co, hf.co) and Civitai (civitai.com)";
const BASE_NAMES: Record<string, string> = { "flux-dev": "FLUX dev", "wan-2.2": "Wan 2.2" };

export default function LorasPage() {
  const { data, loading } = useQuery(LorasQuery);
  const showError = useErrorToast();
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [baseModel, setBaseModel] = useState("flux-dev");
  const [error, setError] = useState<string | null>(null);
  const [mode, setMode] = useState<"link" | "upload">("link");
  const [add, adding] = useMutation(AddLoraMutation, {
    update(cache, { data: result }) {
      if (!result) return;
      cache.updateQuery({ query: LorasQuery }, (current) => ({ loras: [result.addLora, ...(current?.loras ?? []).filter((l) => l.id !== result.addLora.id)] }));
    },
  });
  const [remove] = useMutation(DeleteLoraMutation);
  const { viewer } = useViewer();
  const isFree = viewer?.role === "FREE";
  return (
    <div className="flex max-w-3xl flex-col gap-6 p-4 sm:p-6">
      <h1 className="text-2xl font-semibold tracking-tight">LoRAs</h1>
      <Card>
        <CardHeader>
          <CardTitle className="flex items-center gap-2">Add a LoRA {isFree && <Badge variant="secondary">Pro</Badge>}</CardTitle>
          <CardDescription>
            Paste an https link to a <code>.safetensors</code> file, or upload one. Links are accepted from {ACCEPTED_HOSTS}.
            Links to other sites, to IP addresses or with a password in them are refused.
          </CardDescription>
        </CardHeader>
        <CardContent>
          {isFree && (
            <div className="mb-4 flex flex-wrap items-center justify-between gap-3 rounded-md border border-dashed p-3 text-sm" data-testid="lora-upgrade">
              <span className="text-muted-foreground">Your own LoRAs come with the Pro plan.</span>
              <Button asChild size="sm"><Link to="/billing">Upgrade to Pro</Link></Button>
            </div>
          )}
          <Tabs value={mode} onValueChange={(v) => setMode(v as "link" | "upload")}>
            <TabsList className="mb-4">
              <TabsTrigger value="link">Paste a link</TabsTrigger>
              <TabsTrigger value="upload">Upload a .safetensors file</TabsTrigger>
            </TabsList>
            <TabsContent value="upload">
              <p className="mb-3 text-sm text-muted-foreground">
                Upload a <code>.safetensors</code> LoRA from your computer. It is kept in your private storage and is used only by your runs.
              </p>
              <UploadLoraForm disabled={isFree} />
            </TabsContent>
            <TabsContent value="link">
          <form className="grid gap-3 sm:grid-cols-[1fr_2fr_10rem_auto] sm:items-end" onSubmit={async (e) => {
            e.preventDefault();
            setError(null);
            try {
              await add({ variables: { input: { name, url, baseModel } } });
              setName("");
              setUrl("");
            } catch (err) {
              const described = describeError(err);
              if (described.code === "VALIDATION_ERROR") setError(described.message);
              else showError(err);
            }
          }}>
            <div className="grid gap-1.5"><Label htmlFor="lora-name">Name</Label><Input id="lora-name" required value={name} onChange={(e) => setName(e.target.value)} /></div>
            <div className="grid gap-1.5"><Label htmlFor="lora-url">URL</Label><Input id="lora-url" required type="url" value={url} onChange={(e) => setUrl(e.target.value)} placeholder="https://huggingface.co/…" /></div>
            <div className="grid gap-1.5"><Label htmlFor="lora-base">Base model</Label>
              <Select id="lora-base" aria-label="Base model" value={baseModel} onValueChange={setBaseModel} options={[{ value: "flux-dev", label: "FLUX dev" }, { value: "wan-2.2", label: "Wan 2.2" }]} /></div>
            <Button type="submit" disabled={adding.loading || isFree} title={isFree ? "Needs the Pro plan" : undefined}>{adding.loading ? "Adding…" : "Add"}</Button>
          </form>
          <p className="mt-2 min-h-5 text-sm text-destructive" role="alert">{error}</p>
            </TabsContent>
          </Tabs>
        </CardContent>
      </Card>
      <Card className="divide-y">
        {loading && !data
          ? Array.from({ length: 3 }, (_, i) => <div key={i} className="p-4"><Skeleton className="h-5" /></div>)
          : data?.loras.length === 0
            ? <p className="p-6 text-sm text-muted-foreground">No LoRAs yet.</p>
            : data?.loras.map((lora) => (
                <div key={lora.id} className="flex h-14 min-w-0 items-center gap-3 px-4 text-sm">
                  <span className="shrink-0 font-medium">{lora.name}</span>
                  {lora.uploaded
                    ? <span className="min-w-0 truncate text-muted-foreground max-sm:hidden">Uploaded file</span>
                    : <span className="min-w-0 truncate text-muted-foreground max-sm:hidden">{lora.url}</span>}
                  <span className="ml-auto shrink-0 text-muted-foreground">{BASE_NAMES[lora.baseModel] ?? lora.baseModel}</span>
                  <Button variant="ghost" size="icon" aria-label={`Delete ${lora.name}`} onClick={() =>
                    void remove({
                      variables: { id: lora.id },
                      optimisticResponse: { deleteLora: true },
                      update: (cache) => cache.updateQuery({ query: LorasQuery }, (c) => (c ? { loras: c.loras.filter((l) => l.id !== lora.id) } : c)),
                    }).catch((e: unknown) => showError(e))}>
                    <Trash2 />
                  </Button>
                </div>
              ))}
      </Card>
    </div>
  );
}
