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

export default function LorasPage() {
  const { data, loading } = useQuery(LorasQuery);
  const showError = useErrorToast();
  const [name, setName] = useState("");
  const [url, setUrl] = useState("");
  const [baseModel, setBaseModel] = useState("flux-dev");
  const [error, setError] = useState<string | null>(null);
  const [add, adding] = useMutation(AddLoraMutation, {
    update(cache, { data: result }) {
      if (!result) return;
      cache.updateQuery({ query: LorasQuery }, (current) => ({ loras: [result.addLora, ...(current?.loras ?? []).filter((l) => l.id !== result.addLora.id)] }));
    },
  });
  const [remove] = useMutation(DeleteLoraMutation);
  return (
    <div className="flex max-w-3xl flex-col gap-6 p-6">
      <h1 className="text-2xl font-semibold tracking-tight">LoRAs</h1>
      <Card>
        <CardHeader>
          <CardTitle>Add a LoRA</CardTitle>
          <CardDescription>An https link to a .safetensors file on Hugging Face, Civitai or similar (Pro).</CardDescription>
        </CardHeader>
        <CardContent>
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
            <Button type="submit" disabled={adding.loading}>{adding.loading ? "Adding…" : "Add"}</Button>
          </form>
          <p className="mt-2 min-h-5 text-sm text-destructive" role="alert">{error}</p>
        </CardContent>
      </Card>
      <Card className="divide-y">
        {loading && !data
          ? Array.from({ length: 3 }, (_, i) => <div key={i} className="p-4"><Skeleton className="h-5" /></div>)
          : data?.loras.length === 0
            ? <p className="p-6 text-sm text-muted-foreground">No LoRAs yet.</p>
            : data?.loras.map((lora) => (
                <div key={lora.id} className="flex h-14 items-center gap-3 px-4 text-sm">
                  <span className="font-medium">{lora.name}</span>
                  <span className="truncate text-muted-foreground">{lora.url}</span>
                  <span className="ml-auto text-muted-foreground">{lora.baseModel}</span>
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
