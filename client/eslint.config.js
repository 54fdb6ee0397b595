import js from "@eslint/js";
import tseslint from "typescript-eslint";
import reactHooks from "eslint-plugin-react-hooks";

export default tseslint.config(
  { ignores: ["dist", "src/gql", "node_modules", "test-results"] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ["src/**/*.{ts,tsx}"],
    plugins: { "react-hooks": reactHooks },
    rules: {
      ...reactHooks.configs.recommended.rules,
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
    },
  },
  {
    files: ["e2e/**/*.mjs"],
    // Functions passed to page.waitForFunction run in the browser.
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly", document: "readonly", window: "readonly", performance: "readonly", Element: "readonly", MutationObserver: "readonly", HTMLImageElement: "readonly", HTMLInputElement: "readonly", innerWidth: "readonly", navigator: "readonly", localStorage: "readonly", getComputedStyle: "readonly" } },
  },
  {
    files: ["scripts/**/*.mjs"],
    languageOptions: { globals: { process: "readonly", console: "readonly", URL: "readonly" } },
  },
);
