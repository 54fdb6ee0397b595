import { useEffect, useState } from "react";
import { useApolloClient } from "@apollo/client";
import { ShieldCheck } from "lucide-react";
import { ViewerQuery } from "@/graphql/documents";
import { Alert, AlertDescription } from "@/components/ui/alert";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { mfa, WrongCodeError, type TotpEnrollment } from "./mfa";

type Step =
  | { kind: "loading" }
  | { kind: "enroll"; enrollment: TotpEnrollment }
  | { kind: "verify"; factorId: string }
  | { kind: "failed"; message: string };

/**
 * Admin powers need a second factor: set up an authenticator app (first time) or type its
 * current code. A right code swaps the session for an `aal2` one and the viewer is refetched,
 * which opens the console.
 */
export function MfaStepUp() {
  const [step, setStep] = useState<Step>({ kind: "loading" });
  const [attempt, setAttempt] = useState(0);
  useEffect(() => {
    let cancelled = false;
    void (async () => {
      try {
        const factors = await mfa();
        const verified = await factors.verifiedFactor();
        const next: Step = verified ? { kind: "verify", factorId: verified } : { kind: "enroll", enrollment: await factors.enroll() };
        if (!cancelled) setStep(next);
      } catch (error) {
        if (!cancelled) setStep({ kind: "failed", message: error instanceof Error ? error.message : String(error) });
      }
    })();
    return () => { cancelled = true; };
  }, [attempt]);

  return (
    <div className="flex justify-center p-4 sm:p-6">
      <Card className="w-full max-w-lg" data-testid="mfa-step-up">
        <CardHeader>
          <CardTitle className="flex items-center gap-2"><ShieldCheck className="size-5 text-primary" /> Two-factor sign-in</CardTitle>
          <CardDescription>
            {step.kind === "enroll"
              ? "The admin console needs a second factor. Set up an authenticator app (1Password, Google Authenticator, Authy…) once; after that, you type its code when you open the console."
              : "The admin console needs a second factor: type the code your authenticator app shows for Lattice."}
          </CardDescription>
        </CardHeader>
        <CardContent className="grid gap-5">
          {step.kind === "loading" && (
            <div className="grid gap-4"><Skeleton className="mx-auto size-44" /><Skeleton className="h-9" /><Skeleton className="h-9" /></div>
          )}
          {step.kind === "failed" && (
            <Alert variant="destructive">
              <AlertDescription className="flex flex-wrap items-center justify-between gap-2">
                <span>{step.message}</span>
                <Button size="sm" variant="outline" onClick={() => { setStep({ kind: "loading" }); setAttempt((n) => n + 1); }}>Try again</Button>
              </AlertDescription>
            </Alert>
          )}
          {step.kind === "enroll" && <Enrollment enrollment={step.enrollment} />}
          {(step.kind === "enroll" || step.kind === "verify") && (
            <CodeForm factorId={step.kind === "enroll" ? step.enrollment.factorId : step.factorId} />
          )}
        </CardContent>
      </Card>
    </div>
  );
}

function Enrollment({ enrollment }: { enrollment: TotpEnrollment }) {
  return (
    <ol className="grid gap-4 text-sm">
      <li className="grid gap-3">
        <span>1. Scan this QR code with your authenticator app.</span>
        <img src={enrollment.qrCode} alt="QR code for your authenticator app" className="mx-auto size-44 rounded-md bg-white p-2" data-testid="mfa-qr" />
      </li>
      <li className="grid gap-2">
        <span>Can't scan it? Type this key into the app instead:</span>
        <code className="break-all rounded-md border bg-muted px-3 py-2 text-center font-mono tracking-wider" data-testid="mfa-secret">{enrollment.secret}</code>
      </li>
      <li>2. Type the 6-digit code the app shows.</li>
    </ol>
  );
}

function CodeForm({ factorId }: { factorId: string }) {
  const client = useApolloClient();
  const [code, setCode] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  return (
    <form
      className="grid gap-3"
      onSubmit={async (event) => {
        event.preventDefault();
        setBusy(true);
        setError(null);
        try {
          await (await mfa()).verify(factorId, code);
          await client.refetchQueries({ include: [ViewerQuery] });
        } catch (err) {
          setError(err instanceof WrongCodeError ? err.message : `Could not check the code: ${err instanceof Error ? err.message : String(err)}`);
          setCode("");
        } finally {
          setBusy(false);
        }
      }}
    >
      <div className="grid gap-1.5">
        <Label htmlFor="mfa-code">6-digit code</Label>
        <Input
          id="mfa-code"
          inputMode="numeric"
          autoComplete="one-time-code"
          pattern="[0-9]{6}"
          maxLength={6}
          required
          autoFocus
          value={code}
          onChange={(e) => setCode(e.target.value.replace(/\D/g, "").slice(0, 6))}
          aria-invalid={error ? true : undefined}
          aria-describedby="mfa-error"
          className="max-w-40 text-center font-mono text-lg tracking-[0.3em]"
        />
      </div>
      <p id="mfa-error" className="min-h-5 text-sm text-destructive" role="alert">{error}</p>
      <div><Button type="submit" disabled={busy || code.length !== 6}>{busy ? "Checking…" : "Verify"}</Button></div>
    </form>
  );
}
