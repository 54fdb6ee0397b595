import { useEffect, useState } from "react";
import { clientConfig, type ClientConfig } from "@/lib/config";
import { devSignIn, supabaseClient } from "@/lib/session";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";

export default function SignInPage() {
  const [config, setConfig] = useState<ClientConfig | null>(null);
  useEffect(() => void clientConfig().then(setConfig), []);
  return (
    <div className="grid min-h-full place-items-center bg-muted/40 p-6">
      <Card className="w-full max-w-sm">
        <CardHeader>
          <CardTitle className="text-xl">Sign in to Lattice</CardTitle>
          <CardDescription>Compose and run generative-AI workflows.</CardDescription>
        </CardHeader>
        <CardContent>
          {!config ? <Skeleton className="h-40" /> : config.devSignIn ? <DevSignIn /> : <SupabaseSignIn />}
        </CardContent>
      </Card>
    </div>
  );
}

function DevSignIn() {
  const [email, setEmail] = useState("");
  const [role, setRole] = useState("FREE");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="grid gap-4"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setError(null);
        try {
          await devSignIn(email, role);
        } catch (e) {
          setError(e instanceof Error ? e.message : "Sign-in failed");
          setBusy(false);
        }
      }}
    >
      <div className="grid gap-2">
        <Label htmlFor="email">Email</Label>
        <Input id="email" type="email" required autoFocus value={email} onChange={(e) => setEmail(e.target.value)} placeholder="you@example.com" />
      </div>
      <div className="grid gap-2">
        <Label htmlFor="role">Try as (local development only)</Label>
        <Select id="role" aria-label="Role" value={role} onValueChange={setRole}
          options={[{ value: "FREE", label: "Free" }, { value: "PRO", label: "Pro" }, { value: "ADMIN", label: "Admin" }]} />
      </div>
      <p className="min-h-5 text-sm text-destructive" role="alert">{error}</p>
      <Button type="submit" disabled={busy}>{busy ? "Signing in…" : "Sign in"}</Button>
    </form>
  );
}

function SupabaseSignIn() {
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [message, setMessage] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (mode: "in" | "up") => {
    setBusy(true);
    setMessage(null);
    const client = await supabaseClient();
    if (!client) return;
    const { error } = mode === "in"
      ? await client.auth.signInWithPassword({ email, password })
      : await client.auth.signUp({ email, password });
    setBusy(false);
    setMessage(error ? error.message : mode === "up" ? "Check your email to confirm your account." : null);
  };
  return (
    <form className="grid gap-4" onSubmit={(e) => { e.preventDefault(); void submit("in"); }}>
      <div className="grid gap-2">
        <Label htmlFor="email">Email</Label>
        <Input id="email" type="email" required value={email} onChange={(e) => setEmail(e.target.value)} />
      </div>
      <div className="grid gap-2">
        <Label htmlFor="password">Password</Label>
        <Input id="password" type="password" required minLength={8} value={password} onChange={(e) => setPassword(e.target.value)} />
      </div>
      <p className="min-h-5 text-sm text-muted-foreground" role="status">{message}</p>
      <div className="flex gap-2">
        <Button type="submit" className="flex-1" disabled={busy}>Sign in</Button>
        <Button type="button" variant="outline" className="flex-1" disabled={busy} onClick={() => void submit("up")}>Sign up</Button>
      </div>
    </form>
  );
}
