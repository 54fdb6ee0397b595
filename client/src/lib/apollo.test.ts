import { ApolloClient, ApolloLink, HttpLink, InMemoryCache } from "@apollo/client";
import type { Client, SubscribePayload } from "graphql-ws";
import { GraphQLWsLink } from "@apollo/client/link/subscriptions";
import { ModelsQuery, RunEventsSubscription } from "@/graphql/documents";
import { persistedQueryIds } from "@/gql/persisted-query-ids";
import { trustedDocuments, withoutPersistedText } from "./apollo";

const modelsId = persistedQueryIds.operations.find((o) => o.name === "Models")?.id;

describe("trusted documents", () => {
  it("sends the operation's id from the build's manifest and never its text", async () => {
    const bodies: Record<string, unknown>[] = [];
    const fetch = async (_url: RequestInfo | URL, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(JSON.stringify({ data: { models: [] } }), { headers: { "Content-Type": "application/json" } });
    };
    const client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.from([trustedDocuments(), new HttpLink({ uri: "http://api/graphql", fetch })]) });
    await client.query({ query: ModelsQuery });
    expect(modelsId).toMatch(/^[0-9a-f]{64}$/);
    expect(bodies).toEqual([{ operationName: "Models", variables: {}, extensions: { persistedQuery: { version: 1, sha256Hash: modelsId } } }]);
  });

  it("does not fall back to sending the text when the API does not know the id", async () => {
    const bodies: Record<string, unknown>[] = [];
    const fetch = async (_url: RequestInfo | URL, init?: RequestInit) => {
      bodies.push(JSON.parse(String(init?.body)));
      return new Response(JSON.stringify({ errors: [{ message: "PersistedQueryNotFound", extensions: { code: "PERSISTED_QUERY_NOT_FOUND" } }] }), { headers: { "Content-Type": "application/json" } });
    };
    const client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.from([trustedDocuments(), new HttpLink({ uri: "http://api/graphql", fetch })]) });
    await expect(client.query({ query: ModelsQuery })).rejects.toThrow(/PersistedQueryNotFound/);
    expect(bodies).toHaveLength(1);
    expect(bodies[0]).not.toHaveProperty("query");
  });

  it("sends the id and an empty query over the WebSocket", async () => {
    const sent: SubscribePayload[] = [];
    const ws = {
      subscribe: (payload: SubscribePayload, sink: { complete: () => void }) => {
        sent.push(JSON.parse(JSON.stringify(payload)));
        sink.complete();
        return () => {};
      },
    } as unknown as Client;
    const client = new ApolloClient({ cache: new InMemoryCache(), link: ApolloLink.from([trustedDocuments(), new GraphQLWsLink(withoutPersistedText(ws))]) });
    await new Promise<void>((resolve, reject) => {
      client.subscribe({ query: RunEventsSubscription, variables: { runId: "r1" } }).subscribe({ complete: resolve, error: reject });
    });
    const id = persistedQueryIds.operations.find((o) => o.name === "RunEvents")?.id;
    expect(sent).toHaveLength(1);
    expect(sent[0]).toMatchObject({ query: "", operationName: "RunEvents", variables: { runId: "r1" }, extensions: { persistedQuery: { version: 1, sha256Hash: id } } });
  });
});
