import type { BillingQuery, Role, SubscriptionStatus } from "@/gql/graphql";

/** A viewer as the Billing query returns it, with everything a test may want to change. */
export function billingViewer(over: {
  role?: Role;
  status?: SubscriptionStatus | null;
  graceEndsAt?: string | null;
  ownCap?: number | null;
  capInForce?: number | null;
  usageByDay?: { day: string; cents: number }[];
  usagePeriodStart?: string;
} = {}): NonNullable<BillingQuery["viewer"]> {
  const role = over.role ?? "FREE";
  return {
    __typename: "Viewer",
    id: "me",
    role,
    spendingCapCents: over.ownCap ?? null,
    freeAllowanceCents: 500,
    credits: { __typename: "CreditBalance", freeRemaining: 320, periodUsageCents: 180, reservedCents: 0 },
    billing: {
      __typename: "Billing",
      plan: role,
      subscriptionStatus: over.status ?? null,
      graceEndsAt: over.graceEndsAt ?? null,
      currentPeriodEnd: role === "PRO" ? "2030-04-01T00:00:00+00:00" : null,
      usagePeriodStart: over.usagePeriodStart ?? "2030-03-01",
      spendingCapCents: role === "PRO" ? (over.capInForce ?? over.ownCap ?? 5000) : null,
      defaultSpendingCapCents: 5000,
      maxSpendingCapCents: 50000,
      usageByDay: (over.usageByDay ?? []).map((u) => ({ __typename: "DailyUsage", ...u })),
      usageByModel: [],
    },
  };
}

/** The same viewer as the shell's Viewer query returns it. */
export function shellViewer(over: Parameters<typeof billingViewer>[0] = {}) {
  const v = billingViewer(over);
  return {
    __typename: "Viewer" as const,
    id: v.id,
    email: "me@example.com",
    role: v.role,
    spendingCapCents: v.spendingCapCents,
    freeAllowanceCents: v.freeAllowanceCents,
    credits: v.credits,
    billing: { __typename: "Billing" as const, plan: v.billing.plan, subscriptionStatus: v.billing.subscriptionStatus, graceEndsAt: v.billing.graceEndsAt },
    suspended: false,
    mfaLevel: "aal1",
    adminAccess: { __typename: "AdminAccess" as const, allowed: false, reason: null },
  };
}
