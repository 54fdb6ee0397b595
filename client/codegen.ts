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
      presetConfig: { fragmentMasking: false },
    },
  },
  silent: true,
};

export default config;
