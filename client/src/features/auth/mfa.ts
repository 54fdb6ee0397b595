import type { SupabaseClient } from "@supabase/supabase-js";
import { accessToken, replaceDevToken, supabaseClient, tokenReplaced } from "@/lib/session";

/**
 * TOTP second factor, one interface for both ways of signing in: supabase-js's `auth.mfa` when
 * Supabase is configured, and otherwise the API's dev issuer, whose /auth/v1/factors routes
 * have GoTrue's shapes. Either way a right code replaces the session with an `aal2` one.
 */
export interface TotpEnrollment {
  factorId: string;
  /** An SVG data URI to show as an image. */
  qrCode: string;
  /** The same secret, to type into an authenticator app by hand. */
  secret: string;
  uri: string;
}

export interface Mfa {
  /** The id of a verified TOTP factor, or null when the user has none yet. */
  verifiedFactor(): Promise<string | null>;
  enroll(): Promise<TotpEnrollment>;
  /** Challenges the factor and verifies the code; on success the session is `aal2`. */
  verify(factorId: string, code: string): Promise<void>;
}

/** A code the issuer refused: wrong, expired, or already used. */
export class WrongCodeError extends Error {
  constructor() {
    super("That code is not right. Codes change every 30 seconds: type the one your app shows now.");
    this.name = "WrongCodeError";
  }
}

export async function mfa(): Promise<Mfa> {
  const supabase = await supabaseClient();
  return supabase ? supabaseMfa(supabase) : devMfa();
}

export function supabaseMfa(client: SupabaseClient): Mfa {
  const { mfa } = client.auth;
  return {
    async verifiedFactor() {
      const { data, error } = await mfa.listFactors();
      if (error) throw error;
      return data.totp.find((f) => f.status === "verified")?.id ?? null;
    },
    async enroll() {
      // An abandoned enrollment leaves an unverified factor behind; start from a clean slate.
      const factors = await mfa.listFactors();
      for (const factor of factors.data?.all ?? []) {
        if (factor.factor_type === "totp" && factor.status === "unverified") await mfa.unenroll({ factorId: factor.id });
      }
      const { data, error } = await mfa.enroll({ factorType: "totp" });
      if (error) throw error;
      return { factorId: data.id, qrCode: data.totp.qr_code, secret: data.totp.secret, uri: data.totp.uri };
    },
    async verify(factorId, code) {
      const challenge = await mfa.challenge({ factorId });
      if (challenge.error) throw challenge.error;
      const { error } = await mfa.verify({ factorId, challengeId: challenge.data.id, code });
      if (error) {
        if (error.status && error.status >= 400 && error.status < 500) throw new WrongCodeError();
        throw error;
      }
      // supabase-js stored the aal2 session itself.
      tokenReplaced();
    },
  };
}

interface DevFactor { id: string; factor_type?: string; type?: string; status: string }

async function devRequest<T>(method: string, path: string, body?: unknown): Promise<{ status: number; body: T }> {
  const token = await accessToken();
  const response = await fetch(path, {
    method,
    headers: { ...(body ? { "Content-Type": "application/json" } : {}), ...(token ? { Authorization: `Bearer ${token}` } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const parsed = (await response.json().catch(() => ({}))) as T;
  return { status: response.status, body: parsed };
}

function issuerMessage(body: unknown, fallback: string): string {
  const b = (body ?? {}) as Record<string, unknown>;
  const message = b.msg ?? b.message ?? b.error_description ?? b.error;
  return typeof message === "string" && message ? message : fallback;
}

export function devMfa(): Mfa {
  return {
    async verifiedFactor() {
      const { status, body } = await devRequest<{ factors?: DevFactor[] }>("GET", "/auth/v1/user");
      if (status !== 200) throw new Error(issuerMessage(body, "Could not read your second factors"));
      return body.factors?.find((f) => (f.factor_type ?? f.type) === "totp" && f.status === "verified")?.id ?? null;
    },
    async enroll() {
      const { status, body } = await devRequest<{ id: string; totp: { qr_code: string; secret: string; uri: string } }>(
        "POST", "/auth/v1/factors", { factor_type: "totp" });
      if (status !== 200 && status !== 201) throw new Error(issuerMessage(body, "Could not start two-factor setup"));
      return { factorId: body.id, qrCode: body.totp.qr_code, secret: body.totp.secret, uri: body.totp.uri };
    },
    async verify(factorId, code) {
      const factor = encodeURIComponent(factorId);
      const challenge = await devRequest<{ id: string }>("POST", `/auth/v1/factors/${factor}/challenge`);
      if (challenge.status !== 200 && challenge.status !== 201) throw new Error(issuerMessage(challenge.body, "Could not start the check"));
      const { status, body } = await devRequest<{ access_token?: string; expires_in?: number }>(
        "POST", `/auth/v1/factors/${factor}/verify`, { challenge_id: challenge.body.id, code });
      if (status >= 400 && status < 500 && status !== 401) throw new WrongCodeError();
      if (status !== 200 || !body.access_token) throw new Error(issuerMessage(body, "Could not verify the code"));
      replaceDevToken(body.access_token, body.expires_in ?? 3600);
    },
  };
}
