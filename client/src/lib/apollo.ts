import { ApolloClient, ApolloLink, HttpLink, InMemoryCache, split } from "@apollo/client";
import { setContext } from "@apollo/client/link/context";
import { onError } from "@apollo/client/link/error";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { getMainDefinition, relayStylePagination } from "@apollo/client/utilities";
import { createClient } from "graphql-ws";
import { accessToken, sessionExpired } from "./session";

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
  const ws = new GraphQLWsLink(
    createClient({
      url: websocketUrl(),
      lazy: true,
      retryAttempts: 10,
      // Read the token at each (re)connect, so a refreshed session is used.
      connectionParams: async () => {
        const token = await accessToken();
        return token ? { Authorization: `Bearer ${token}` } : {};
      },
    }),
  );
  const http = ApolloLink.from([expired, auth, new HttpLink({ uri: "/graphql" })]);
  const link = split(
    ({ query }) => {
      const definition = getMainDefinition(query);
      return definition.kind === "OperationDefinition" && definition.operation === "subscription";
    },
    ws,
    http,
  );
  return new ApolloClient({ link, cache: createCache() });
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
