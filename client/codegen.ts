import type { CodegenConfig } from "@graphql-codegen/cli";

// The operations of the lazily loaded operator pages (admin console, API keys) get their own
// generated module, so their documents stay out of the dashboard's first-load chunk.
const lazyDocuments = ["src/features/admin/**/*.graphql", "src/features/apikeys/**/*.graphql"];

const output = {
  preset: "client" as const,
  config: {
    scalars: { Date: "string", DateTime: "string", JSON: "unknown" },
    enumsAsTypes: true,
    useTypeImports: true,
  },
  // One document per operation (with its fragments) for Apollo's persisted query manifest
  // generator; the ids Apollo sends are computed from its output, not from these hashes.
  presetConfig: { fragmentMasking: false, persistedDocuments: true },
};

// Typed documents from the API's exported schema (the repository's schema.graphql).
const config: CodegenConfig = {
  schema: ["../schema.graphql", ...(process.env.CODEGEN_PENDING_SCHEMA ? [process.env.CODEGEN_PENDING_SCHEMA] : [])],
  ignoreNoDocuments: true,
  generates: {
    "./src/gql/": { ...output, documents: ["src/**/*.graphql", ...lazyDocuments.map((glob) => `!${glob}`)] },
    "./src/gql/lazy/": { ...output, documents: lazyDocuments },
  },
  silent: true,
};

export default config;
