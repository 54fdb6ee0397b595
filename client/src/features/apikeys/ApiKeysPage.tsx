import { useState } from "react";
import { useMutation, useQuery } from "@apollo/client";
import { Check, Copy, KeyRound, TriangleAlert } from "lucide-react";
import { ApiKeysDocument, CreateApiKeyDocument, RevokeApiKeyDocument, type ApiKeyFieldsFragment, type ApiKeyScope } from "@/gql/lazy/graphql";
import { describeError } from "@/lib/errors";
import { useErrorToast } from "@/lib/useErrorToast";
import { formatDate, relativeTime } from "@/lib/utils";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Dialog, DialogContent, DialogDescription, DialogTitle } from "@/components/ui/dialog";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";

const SCOPES: { value: ApiKeyScope; label: string; note: string }[] = [
  { value: "READ", label: "Read", note: "Read workflows, runs, the gallery and usage." },
  { value: "RUN", label: "Run", note: "Run workflows. Runs cost money: a key with this scope spends from your account, up to your spending cap." },
];

export default function ApiKeysPage() {
  const { data, loading } = useQuery(ApiKeysDocument);
  const [created, setCreated] = useState<{ secret: string; name: string } | null>(null);
  const keys = data?.apiKeys ?? [];
  return (
    <div className="flex max-w-4xl flex-col gap-6 p-4 sm:p-6">
      <div>
        <h1 className="text-2xl font-semibold tracking-tight">API keys</h1>
        <p className="mt-1 text-sm text-muted-foreground">
          Keys let your own programs call the Lattice API as you: send <code className="break-all">Authorization: Bearer lat_…</code> with each request.
          A key cannot sign in here, manage keys or use admin powers.
        </p>
      </div>
      {created && <NewSecret {...created} onDone={() => setCreated(null)} />}
      <CreateKeyCard onCreated={setCreated} />
      <Card>
        <CardHeader>
          <CardTitle>Your keys</CardTitle>
        </CardHeader>
        <CardContent className="grid gap-0 divide-y p-0" data-testid="api-key-list">
          {loading && !data
            ? Array.from({ length: 2 }, (_, i) => (
                <div key={i} className="flex flex-col gap-2 px-6 py-4"><Skeleton className="h-5 w-48" /><Skeleton className="h-4 w-72 max-w-full" /></div>
              ))
            : keys.length === 0
              ? <p className="px-6 pb-6 text-sm text-muted-foreground">No keys yet.</p>
              : keys.map((key) => <KeyRow key={key.id} apiKey={key} />)}
        </CardContent>
      </Card>
    </div>
  );
}

function CreateKeyCard({ onCreated }: { onCreated: (created: { secret: string; name: string }) => void }) {
  const [name, setName] = useState("");
  const [scopes, setScopes] = useState<ApiKeyScope[]>(["READ"]);
  const [error, setError] = useState<string | null>(null);
  const showError = useErrorToast();
  const [create, { loading }] = useMutation(CreateApiKeyDocument, {
    update(cache, { data: result }) {
      if (!result) return;
      cache.updateQuery({ query: ApiKeysDocument }, (current) => ({ apiKeys: [result.createApiKey.apiKey, ...(current?.apiKeys ?? [])] }));
    },
  });
  const toggle = (scope: ApiKeyScope, on: boolean) => setScopes((s) => (on ? [...new Set([...s, scope])] : s.filter((x) => x !== scope)));
  return (
    <Card>
      <CardHeader>
        <CardTitle>Create a key</CardTitle>
        <CardDescription>Name it for the program that will use it, and give it only the scopes it needs.</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-4"
          onSubmit={async (event) => {
            event.preventDefault();
            setError(null);
            if (scopes.length === 0) return setError("Pick at least one scope.");
            try {
              const result = await create({ variables: { name: name.trim(), scopes } });
              if (result.data) onCreated({ secret: result.data.createApiKey.secret, name: result.data.createApiKey.apiKey.name });
              setName("");
            } catch (err) {
              const described = describeError(err);
              if (described.code === "VALIDATION_ERROR") setError(described.message);
              else showError(err);
            }
          }}
        >
          <div className="grid gap-1.5 sm:max-w-sm">
            <Label htmlFor="api-key-name">Name</Label>
            <Input id="api-key-name" required maxLength={100} value={name} onChange={(e) => setName(e.target.value)} placeholder="Nightly render job" />
          </div>
          <fieldset className="grid gap-2">
            <legend className="mb-1 text-sm font-medium">Scopes</legend>
            {SCOPES.map((scope) => (
              <label key={scope.value} className="flex items-start gap-3 rounded-md border p-3 text-sm has-[:checked]:border-primary">
                <input type="checkbox" className="mt-0.5 size-4 accent-primary" checked={scopes.includes(scope.value)} onChange={(e) => toggle(scope.value, e.target.checked)} aria-describedby={`scope-${scope.value}`} />
                <span className="grid gap-0.5">
                  <span className="font-medium">{scope.label}</span>
                  <span id={`scope-${scope.value}`} className="text-muted-foreground">{scope.note}</span>
                </span>
              </label>
            ))}
          </fieldset>
          <p className="min-h-5 text-sm text-destructive" role="alert">{error}</p>
          <div><Button type="submit" disabled={loading}><KeyRound /> {loading ? "Creating…" : "Create key"}</Button></div>
        </form>
      </CardContent>
    </Card>
  );
}

/** The secret exists only in this response: the API keeps a hash. */
function NewSecret({ secret, name, onDone }: { secret: string; name: string; onDone: () => void }) {
  const [copied, setCopied] = useState(false);
  return (
    <Alert variant="success" data-testid="new-api-key">
      <Check />
      <AlertTitle>Key “{name}” created</AlertTitle>
      <AlertDescription className="grid gap-3">
        <p><strong>Copy it now: you will not see it again.</strong> Lattice keeps only a fingerprint of it; if you lose it, revoke it and create another.</p>
        <div className="flex min-w-0 flex-col gap-2 sm:flex-row">
          <code className="min-w-0 flex-1 break-all rounded-md border bg-background px-3 py-2 font-mono text-xs" data-testid="api-key-secret">{secret}</code>
          <div className="flex gap-2">
            <Button
              type="button"
              variant="outline"
              onClick={async () => {
                await navigator.clipboard.writeText(secret).catch(() => {});
                setCopied(true);
              }}
            >
              {copied ? <Check /> : <Copy />} {copied ? "Copied" : "Copy"}
            </Button>
            <Button type="button" variant="ghost" onClick={onDone}>Done</Button>
          </div>
        </div>
      </AlertDescription>
    </Alert>
  );
}

function KeyRow({ apiKey }: { apiKey: ApiKeyFieldsFragment }) {
  const [confirming, setConfirming] = useState(false);
  const showError = useErrorToast();
  const [revoke, { loading }] = useMutation(RevokeApiKeyDocument);
  const revoked = Boolean(apiKey.revokedAt);
  return (
    <div className="flex flex-col gap-3 px-6 py-4 sm:flex-row sm:items-center sm:justify-between" data-testid="api-key-row" data-key-name={apiKey.name}>
      <div className="grid min-w-0 gap-1">
        <div className="flex min-w-0 flex-wrap items-center gap-2">
          <span className="min-w-0 max-w-full truncate font-medium" title={apiKey.name}>{apiKey.name}</span>
          <code className="rounded bg-muted px-1.5 py-0.5 font-mono text-xs">{apiKey.prefix}…</code>
          {apiKey.scopes.map((scope) => <Badge key={scope} variant={scope === "RUN" ? "warning" : "secondary"}>{scope}</Badge>)}
          {revoked && <Badge variant="destructive">Revoked</Badge>}
        </div>
        <p className="text-xs text-muted-foreground">
          Created {formatDate(apiKey.createdAt)} · {apiKey.lastUsedAt ? `last used ${relativeTime(apiKey.lastUsedAt)}` : "never used"}
          {apiKey.revokedAt && ` · revoked ${formatDate(apiKey.revokedAt)}`}
        </p>
      </div>
      {!revoked && <Button variant="outline" size="sm" onClick={() => setConfirming(true)}>Revoke</Button>}
      <Dialog open={confirming} onOpenChange={setConfirming}>
        <DialogContent className="max-w-md">
          <DialogTitle className="flex items-center gap-2"><TriangleAlert className="size-5 text-destructive" /> Revoke “{apiKey.name}”?</DialogTitle>
          <DialogDescription>
            Programs using the key <code>{apiKey.prefix}…</code> stop working at once. This cannot be undone.
          </DialogDescription>
          <div className="flex justify-end gap-2">
            <Button variant="ghost" onClick={() => setConfirming(false)}>Cancel</Button>
            <Button
              variant="destructive"
              disabled={loading}
              onClick={async () => {
                try {
                  await revoke({ variables: { id: apiKey.id } });
                  setConfirming(false);
                } catch (err) {
                  showError(err);
                }
              }}
            >
              {loading ? "Revoking…" : "Revoke key"}
            </Button>
          </div>
        </DialogContent>
      </Dialog>
    </div>
  );
}
