import { describeGraphQLError } from "./errors";

describe("describeGraphQLError", () => {
  it("points a validation error at the node it concerns", () => {
    const described = describeGraphQLError({
      message: "Node b needs its image_url input",
      extensions: { code: "VALIDATION_ERROR", problems: [{ reason: "MISSING_INPUT", message: "…", nodeId: "b", field: "image_url" }] },
    });
    expect(described.title).toBe("Something needs fixing");
    expect(described.action).toEqual({ kind: "selectNode", nodeId: "b", label: "Show node" });
  });

  it.each([
    ["UPGRADE_REQUIRED", "upgrade"],
    ["INSUFFICIENT_CREDITS", "upgrade"],
    ["SPENDING_CAP_REACHED", "upgrade"],
    ["RATE_LIMITED", "retry"],
    ["CONFLICT", "reload"],
    ["UNAUTHENTICATED", "signIn"],
  ])("offers an action for %s", (code, kind) => {
    expect(describeGraphQLError({ message: "x", extensions: { code } }).action?.kind).toBe(kind);
  });

  it("says what is missing without an action when nothing can be done", () => {
    const described = describeGraphQLError({ message: "Workflow 1 was not found", extensions: { code: "NOT_FOUND" } });
    expect(described).toMatchObject({ title: "Not found", message: "Workflow 1 was not found" });
    expect(described.action).toBeUndefined();
  });
});
