import type { SupabaseClient } from "@supabase/supabase-js";
import { clientConfig } from "./config";

/**
 * The signed-in session. With Supabase configured, supabase-js owns it (and refreshes it);
 * in dev, the API's own issuer signs tokens, which are re-issued silently before they
 * expire. Either way the rest of the client only asks for `accessToken()`.
 */
const DEV_KEY = "lattice-dev-session";
type DevSession = { email: string; role?: string; token: string; expiresAt: number };
type Listener = (signedIn: boolean) => void;

const listeners = new Set<Listener>();
const replacedListeners = new Set<() => void>();
let supabase: Promise<SupabaseClient | null> | null = null;

function notify(signedIn: boolean) {
  for (const listener of listeners) listener(signedIn);
}

export function onSessionChange(listener: Listener): () => void {
  listeners.add(listener);
  return () => void listeners.delete(listener);
}

/** The token was swapped for a stronger one (MFA step-up): open sockets should reconnect with it. */
export function onTokenReplaced(listener: () => void): () => void {
  replacedListeners.add(listener);
  return () => void replacedListeners.delete(listener);
}

export function tokenReplaced(): void {
  for (const listener of replacedListeners) listener();
}

export function supabaseClient(): Promise<SupabaseClient | null> {
  supabase ??= clientConfig().then(async (config) => {
    if (!config.supabaseUrl || !config.supabaseAnonKey) return null;
    const { createClient } = await import("@supabase/supabase-js");
    const client = createClient(config.supabaseUrl, config.supabaseAnonKey);
    client.auth.onAuthStateChange((_event, session) => notify(Boolean(session)));
    return client;
  });
  return supabase;
}

function readDev(): DevSession | null {
  try {
    return JSON.parse(localStorage.getItem(DEV_KEY) ?? "null") as DevSession | null;
  } catch {
    return null;
  }
}

export async function devSignIn(email: string, role?: string): Promise<void> {
  const response = await fetch("/auth/dev/sign-in", {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(role ? { email, role } : { email }),
  });
  const body = (await response.json()) as { access_token?: string; expires_in?: number; error?: string };
  if (!response.ok || !body.access_token) throw new Error(body.error ?? "Sign-in failed");
  const session: DevSession = { email, role, token: body.access_token, expiresAt: Date.now() + (body.expires_in ?? 3600) * 1000 };
  localStorage.setItem(DEV_KEY, JSON.stringify(session));
  notify(true);
}

/** The dev issuer stepped the session up (an `aal2` token after a TOTP code). When it expires,
 * the quiet re-issue below gives an `aal1` token again, and the console asks for a code. */
export function replaceDevToken(token: string, expiresIn: number): void {
  const dev = readDev();
  if (!dev) throw new Error("Not signed in");
  localStorage.setItem(DEV_KEY, JSON.stringify({ ...dev, token, expiresAt: Date.now() + expiresIn * 1000 }));
  tokenReplaced();
}

export async function accessToken(): Promise<string | null> {
  const client = await supabaseClient();
  if (client) {
    const { data } = await client.auth.getSession();
    return data.session?.access_token ?? null;
  }
  const dev = readDev();
  if (!dev) return null;
  if (dev.expiresAt - Date.now() < 60_000) {
    // Re-issue quietly: an expiring session must not cost the user their unsaved work.
    // Without the role: the one picked at sign-in may be stale (an upgrade through
    // Checkout since), and the profile's own role is what counts.
    try {
      await devSignIn(dev.email);
      return readDev()?.token ?? null;
    } catch {
      return null;
    }
  }
  return dev.token;
}

export async function signOut(): Promise<void> {
  const client = await supabaseClient();
  if (client) await client.auth.signOut();
  localStorage.removeItem(DEV_KEY);
  notify(false);
}

/** The API refused our token: forget it, and let the sign-in screen take over. */
export function sessionExpired(): void {
  localStorage.removeItem(DEV_KEY);
  notify(false);
}

export async function hasSession(): Promise<boolean> {
  return (await accessToken()) !== null;
}
