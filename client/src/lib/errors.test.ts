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
    ["UNAVAILABLE", "retry"],
  ])("offers an action for %s", (code, kind) => {
    expect(describeGraphQLError({ message: "x", extensions: { code } }).action?.kind).toBe(kind);
  });

  it("says what is missing without an action when nothing can be done", () => {
    const described = describeGraphQLError({ message: "Workflow 1 was not found", extensions: { code: "NOT_FOUND" } });
    expect(described).toMatchObject({ title: "Not found", message: "Workflow 1 was not found" });
    expect(described.action).toBeUndefined();
  });

  it.each([
    ["ALREADY_SUBSCRIBED", "You're already on Pro"],
    ["NO_SUBSCRIPTION", "No billing account yet"],
    ["CAP_TOO_HIGH", "Spending cap too high"],
  ])("words the billing problem %s", (reason, title) => {
    const described = describeGraphQLError({ message: "x", extensions: { code: "VALIDATION_ERROR", problems: [{ reason, message: "x", field: "plan" }] } });
    expect(described.title).toBe(title);
    expect(described.message).not.toBe("x");
  });

  it("offers an upgrade when there is no subscription to manage yet", () => {
    const described = describeGraphQLError({ message: "x", extensions: { code: "VALIDATION_ERROR", problems: [{ reason: "NO_SUBSCRIPTION", message: "x" }] } });
    expect(described.action?.kind).toBe("upgrade");
  });
});
