// Apollo's manifest generator wants one operation per document; GraphQL Code Generator's
// persisted documents (one entry per operation, with the fragments it spreads) give it that
// from src/**/*.graphql. The generator then applies Apollo Client's own document transforms,
// so each manifest entry has the `__typename` fields Apollo Client adds at run time (see
// scripts/trusted-documents.mjs). Codegen writes two modules (the dashboard's and the lazily
// loaded pages'); their persisted documents are merged into one list here.
const { existsSync, readFileSync, writeFileSync } = require("node:fs");
const { fromGraphQLCodegenPersistedDocuments } = require("@apollo/generate-persisted-query-manifest");

const merged = "src/gql/persisted-documents.all.json";
writeFileSync(
  merged,
  JSON.stringify({
    ...JSON.parse(readFileSync("src/gql/persisted-documents.json", "utf8")),
    ...(existsSync("src/gql/lazy/persisted-documents.json") ? JSON.parse(readFileSync("src/gql/lazy/persisted-documents.json", "utf8")) : {}),
  }),
);

module.exports = {
  documents: fromGraphQLCodegenPersistedDocuments(merged),
  output: "src/gql/persisted-query-manifest.json",
};
