import type { ApolloError } from "@apollo/client";
import type { GraphQLFormattedError } from "graphql";

export type ErrorAction =
  | { kind: "selectNode"; nodeId: string; label: string }
  | { kind: "upgrade"; label: string }
  | { kind: "retry"; label: string }
  | { kind: "reload"; label: string }
  | { kind: "signIn"; label: string };

export interface Problem {
  reason: string;
  message: string;
  nodeId?: string;
  field?: string;
}

export interface DescribedError {
  code: string;
  title: string;
  message: string;
  action?: ErrorAction;
  problems: Problem[];
}

const TITLES: Record<string, string> = {
  UNAUTHENTICATED: "Please sign in again",
  FORBIDDEN: "Not allowed",
  UPGRADE_REQUIRED: "This needs Pro",
  VALIDATION_ERROR: "Something needs fixing",
  NOT_FOUND: "Not found",
  CONFLICT: "Changed in another tab",
  INSUFFICIENT_CREDITS: "Out of free credits",
  SPENDING_CAP_REACHED: "Spending cap reached",
  RATE_LIMITED: "Slow down a little",
  NOT_AVAILABLE: "Not available yet",
  UNAVAILABLE: "Temporarily unavailable",
  SUSPENDED: "Account suspended",
};

/** Problem codes (a VALIDATION_ERROR's `problems[].reason`) that deserve their own words. */
const PROBLEMS: Record<string, { title: string; message: string }> = {
  ALREADY_SUBSCRIBED: { title: "You're already on Pro", message: "Your plan is managed from the billing portal: use Manage billing." },
  NO_SUBSCRIPTION: { title: "No billing account yet", message: "Upgrade to Pro first; the billing portal opens once you have a subscription." },
  CAP_TOO_HIGH: { title: "Spending cap too high", message: "That is above the highest cap you can set yourself; choose a lower amount." },
};

/** Turns any GraphQL error from the API into words and, where one exists, an action. */
export function describeGraphQLError(error: GraphQLFormattedError): DescribedError {
  const extensions = (error.extensions ?? {}) as Record<string, unknown>;
  const code = typeof extensions.code === "string" ? extensions.code : "INTERNAL";
  const problems = Array.isArray(extensions.problems) ? (extensions.problems as Problem[]) : [];
  const base = { code, title: TITLES[code] ?? "Something went wrong", message: error.message, problems };
  switch (code) {
    case "VALIDATION_ERROR": {
      const known = problems.map((p) => PROBLEMS[p.reason]).find(Boolean);
      if (known) {
        const upgrade = problems.some((p) => p.reason === "NO_SUBSCRIPTION");
        return { ...base, ...known, ...(upgrade ? { action: { kind: "upgrade", label: "Upgrade to Pro" } as const } : {}) };
      }
      const nodeId = problems.find((p) => p.nodeId)?.nodeId;
      return nodeId ? { ...base, action: { kind: "selectNode", nodeId, label: "Show node" } } : base;
    }
    case "UPGRADE_REQUIRED":
    case "INSUFFICIENT_CREDITS":
      return { ...base, action: { kind: "upgrade", label: "Upgrade to Pro" } };
    case "SPENDING_CAP_REACHED":
      return { ...base, action: { kind: "upgrade", label: "Raise the cap" } };
    case "RATE_LIMITED": {
      const seconds = Number(extensions.retryAfterSeconds ?? 0);
      return { ...base, message: seconds ? `${error.message}` : error.message, action: { kind: "retry", label: "Retry" } };
    }
    case "UNAVAILABLE":
      return { ...base, action: { kind: "retry", label: "Retry" } };
    case "CONFLICT":
      return { ...base, message: "This workflow was changed in another tab or by another device.", action: { kind: "reload", label: "Load latest" } };
    case "UNAUTHENTICATED":
      return { ...base, action: { kind: "signIn", label: "Sign in" } };
    case "INTERNAL":
      return { ...base, message: "An unexpected error happened. Try again in a moment.", action: { kind: "retry", label: "Retry" } };
    default:
      return base;
  }
}

export function describeError(error: unknown): DescribedError {
  const apollo = error as Partial<ApolloError> | undefined;
  const first = apollo?.graphQLErrors?.[0];
  if (first) return describeGraphQLError(first);
  if (apollo?.networkError) {
    return { code: "NETWORK", title: "Connection problem", message: "Lattice could not be reached. Check your connection.", action: { kind: "retry", label: "Retry" }, problems: [] };
  }
  const message = error instanceof Error ? error.message : String(error);
  return { code: "INTERNAL", title: "Something went wrong", message, problems: [] };
}
