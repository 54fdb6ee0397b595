// Apollo's manifest generator wants one operation per document; GraphQL Code Generator's
// persisted documents (one entry per operation, with the fragments it spreads) give it that
// from src/**/*.graphql. The generator then applies Apollo Client's own document transforms,
// so each manifest entry is the text Apollo Client would send (see scripts/trusted-documents.mjs).
const { fromGraphQLCodegenPersistedDocuments } = require("@apollo/generate-persisted-query-manifest");

module.exports = {
  documents: fromGraphQLCodegenPersistedDocuments("src/gql/persisted-documents.json"),
  output: "src/gql/persisted-query-manifest.json",
};
