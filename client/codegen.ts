import type { CodegenConfig } from "@graphql-codegen/cli";

// Typed documents from the API's exported schema (the repository's schema.graphql).
const config: CodegenConfig = {
  schema: "../schema.graphql",
  documents: ["src/**/*.graphql"],
  ignoreNoDocuments: true,
  generates: {
    "./src/gql/": {
      preset: "client",
      config: {
        scalars: { Date: "string", DateTime: "string", JSON: "unknown" },
        enumsAsTypes: true,
        useTypeImports: true,
      },
      // One document per operation (with its fragments) for Apollo's persisted query manifest
      // generator; the ids Apollo sends are computed from its output, not from these hashes.
      presetConfig: { fragmentMasking: false, persistedDocuments: true },
    },
  },
  silent: true,
};

export default config;
