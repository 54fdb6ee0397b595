import { useRef, useState } from "react";
import { useApolloClient } from "@apollo/client";
import { LorasQuery } from "@/graphql/documents";
import { accessToken } from "@/lib/session";
import { Button } from "@/components/ui/button";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { LORA_EXTENSION, UploadError, uploadLora } from "./uploadLora";

const BASE_OPTIONS = [{ value: "flux-dev", label: "FLUX dev" }, { value: "wan-2.2", label: "Wan 2.2" }];

export function UploadLoraForm({ disabled }: { disabled: boolean }) {
  const client = useApolloClient();
  const [file, setFile] = useState<File | null>(null);
  const [name, setName] = useState("");
  const [baseModel, setBaseModel] = useState("flux-dev");
  // Stays at 1 after a finished upload, so the bar is seen to complete.
  const [progress, setProgress] = useState<number | null>(null);
  const [uploading, setUploading] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [done, setDone] = useState<string | null>(null);
  const abort = useRef<(() => void) | null>(null);
  const fileInput = useRef<HTMLInputElement>(null);
  const suggested = useRef("");

  const pick = (picked: File | null) => {
    setError(null);
    setDone(null);
    setProgress(null);
    if (picked && !picked.name.toLowerCase().endsWith(LORA_EXTENSION)) {
      setError(`Only ${LORA_EXTENSION} files can be uploaded.`);
      setFile(null);
      return;
    }
    setFile(picked);
    // A name to start from: the file's, without its extension, unless the user typed one.
    if (picked && (!name || name === suggested.current)) {
      suggested.current = picked.name.slice(0, -LORA_EXTENSION.length).slice(0, 120);
      setName(suggested.current);
    }
  };

  return (
    <form className="grid gap-3" onSubmit={async (e) => {
      e.preventDefault();
      if (!file) return;
      setError(null);
      setDone(null);
      setProgress(0);
      setUploading(true);
      const upload = uploadLora(file, { name, baseModel }, await accessToken(), setProgress);
      abort.current = upload.abort;
      try {
        const lora = await upload.done;
        client.cache.updateQuery({ query: LorasQuery }, (current) => ({
          loras: [{ ...lora, __typename: "Lora" as const }, ...(current?.loras ?? []).filter((l) => l.id !== lora.id)],
        }));
        setProgress(1);
        setDone(`${lora.name} was uploaded.`);
        setFile(null);
        setName("");
        if (fileInput.current) fileInput.current.value = "";
      } catch (err) {
        setError(err instanceof UploadError ? (err.code === "ABORTED" ? null : err.message) : String(err));
        setProgress(null);
      } finally {
        setUploading(false);
        abort.current = null;
      }
    }}>
      <div className="grid gap-3 sm:grid-cols-[2fr_1fr_10rem] sm:items-end">
        <div className="grid gap-1.5"><Label htmlFor="lora-file">File</Label>
          <Input id="lora-file" ref={fileInput} type="file" className="file:mr-3 file:border-0 file:bg-transparent file:text-sm file:font-medium" accept={LORA_EXTENSION} required disabled={disabled || uploading}
            onChange={(e) => pick(e.target.files?.[0] ?? null)} /></div>
        <div className="grid gap-1.5"><Label htmlFor="lora-upload-name">Name</Label>
          <Input id="lora-upload-name" required maxLength={120} value={name} disabled={disabled} onChange={(e) => setName(e.target.value)} /></div>
        <div className="grid gap-1.5"><Label htmlFor="lora-upload-base">Base model</Label>
          <Select id="lora-upload-base" aria-label="Base model" value={baseModel} onValueChange={setBaseModel} options={BASE_OPTIONS} /></div>
      </div>
      <div className="flex flex-wrap items-center gap-3">
        {!uploading && (
          <Button type="submit" disabled={disabled || !file} title={disabled ? "Needs the Pro plan" : undefined}>Upload</Button>
        )}
        {progress !== null && (
          <>
            <div className="h-2 min-w-40 flex-1 overflow-hidden rounded-full bg-muted" role="progressbar" aria-label="Upload progress"
              aria-valuemin={0} aria-valuemax={100} aria-valuenow={Math.round(progress * 100)}>
              <div className="h-full bg-primary transition-[width]" style={{ width: `${Math.round(progress * 100)}%` }} />
            </div>
            <span className="w-10 text-right text-sm tabular-nums text-muted-foreground">{Math.round(progress * 100)}%</span>
          </>
        )}
        {uploading && <Button type="button" variant="outline" onClick={() => abort.current?.()}>Cancel</Button>}
      </div>
      <p className="min-h-5 text-sm" role={error ? "alert" : "status"}>
        {error ? <span className="text-destructive">{error}</span> : <span className="text-muted-foreground">{done}</span>}
      </p>
    </form>
  );
}
