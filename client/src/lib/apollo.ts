import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, split } from "@apollo/client";
import { setContext } from "@apollo/client/link/context";
import { onError } from "@apollo/client/link/error";
import { createPersistedQueryLink } from "@apollo/client/link/persisted-queries";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, getOperationName, relayStylePagination } from "@apollo/client/utilities";
import { createClient, type Client } from "graphql-ws";
import { persistedQueryIds } from "@/gql/persisted-query-ids";
import { accessToken, onTokenReplaced, sessionExpired } from "./session";

function websocketUrl(): string {
  const url = new URL("/graphql", window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  return url.toString();
}

export function createApolloClient(): ApolloClient<unknown> {
  const auth = setContext(async (_, { headers }) => {
    const token = await accessToken();
    return { headers: { ...headers, ...(token ? { Authorization: `Bearer ${token}` } : {}) } };
  });
  const expired = onError(({ graphQLErrors }) => {
    if (graphQLErrors?.some((e) => e.extensions?.code === "UNAUTHENTICATED")) sessionExpired();
  });
  const socket = createClient({
    url: websocketUrl(),
    lazy: true,
    retryAttempts: 10,
    // Read the token at each (re)connect, so a refreshed session is used.
    connectionParams: async () => {
      const token = await accessToken();
      return token ? { Authorization: `Bearer ${token}` } : {};
    },
  });
  restartOnStepUp(socket);
  const ws = new GraphQLWsLink(withoutPersistedText(socket));
  const http = ApolloLink.from([expired, auth, new HttpLink({ uri: "/graphql" })]);
  const link = ApolloLink.from([trustedDocuments(), split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    ws,
    http,
  )]);
  return new ApolloClient({ link, cache: createCache() });
}

/**
 * Trusted documents: the API runs only operations it knows by id (scripts/trusted-documents.mjs
 * writes them to src/graph/trusted_documents.json at build time), so every request carries
 * `extensions.persistedQuery = { version: 1, sha256Hash }` and never the text. The id is looked
 * up by operation name in the build's manifest rather than hashed here: the manifest's text is
 * GraphQL Code Generator's normalized print of the operation after Apollo's transforms, and
 * `sha256Hash` is the SHA-256 (lowercase hex) of exactly that text. An id the API does not know
 * is an error shown as such; falling back to sending the text would only be refused.
 * (The lookup is @apollo/persisted-query-lists' generatePersistedQueryIdsFromManifest in a few
 * lines: that package ships CommonJS only, which drags all of graphql-js into the first load.)
 */
const idsByName = new Map(persistedQueryIds.operations.map(({ name, id }) => [name, id]));

export function trustedDocuments(): ApolloLink {
  return createPersistedQueryLink({
    generateHash: (document) => {
      const name = getOperationName(document);
      const id = name === null ? undefined : idsByName.get(name);
      if (!id) throw new Error(`Operation ${name ?? "(anonymous)"} is not in the trusted documents manifest`);
      return id;
    },
    disable: () => false,
    retry: () => false,
  });
}

/** graphql-ws insists on a string `query` in a subscribe message; with a persisted id it is
 * empty, and the API finds the text from `extensions.persistedQuery`. */
export function withoutPersistedText(client: Client): Client {
  return {
    ...client,
    subscribe: (payload, sink) =>
      client.subscribe(payload.extensions?.persistedQuery ? { ...payload, query: "" } : payload, sink),
    iterate: (payload) => client.iterate(payload.extensions?.persistedQuery ? { ...payload, query: "" } : payload),
  };
}

/** A socket opened with an `aal1` token keeps it; after an MFA step-up, reconnect (graphql-ws
 * resubscribes what was open) so the connection carries the new token. */
function restartOnStepUp(client: Client): void {
  let open: WebSocket | null = null;
  client.on("connected", (socket) => { open = socket as WebSocket; });
  client.on("closed", () => { open = null; });
  onTokenReplaced(() => {
    if (open?.readyState === WebSocket.OPEN) open.close(4205, "Client Restart");
  });
}

export function createCache(): InMemoryCache {
  return new InMemoryCache({
      typePolicies: {
        Query: {
          fields: {
            workflows: relayStylePagination(),
            runs: relayStylePagination(),
            assets: relayStylePagination(["kind"]),
            // `workflow(id)` and `asset(id)` read from what lists already loaded.
            workflow: { read: (_, { args, toReference }) => toReference({ __typename: "Workflow", id: args?.id }) },
            asset: { read: (_, { args, toReference }) => toReference({ __typename: "Asset", id: args?.id }) },
          },
        },
        Viewer: { keyFields: [] },
        CreditBalance: { keyFields: false, merge: true },
        // The viewer's billing is one object, filled in by several queries (fast, then Stripe's).
        Billing: { keyFields: false, merge: true },
      },
  });
}
