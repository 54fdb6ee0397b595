export interface ClientConfig {
  supabaseUrl: string | null;
  supabaseAnonKey: string | null;
  devSignIn: boolean;
}

let loaded: Promise<ClientConfig> | null = null;

/** The API tells the client how users sign in (Supabase, or the dev issuer). */
export function clientConfig(): Promise<ClientConfig> {
  loaded ??= fetch("/api/config").then((r) => r.json() as Promise<ClientConfig>);
  return loaded;
}
