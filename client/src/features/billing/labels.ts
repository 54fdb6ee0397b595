import type { Role, SubscriptionStatus } from "@/gql/graphql";
import type { BadgeProps } from "@/components/ui/badge";

export const PLAN_NAMES: Record<Role, string> = { FREE: "Free", PRO: "Pro", ADMIN: "Admin" };

export const STATUS_BADGES: Record<SubscriptionStatus, { label: string; variant: BadgeProps["variant"] }> = {
  ACTIVE: { label: "Active", variant: "success" },
  TRIALING: { label: "Trialing", variant: "secondary" },
  PAST_DUE: { label: "Past due", variant: "warning" },
  INCOMPLETE: { label: "Incomplete", variant: "warning" },
  INCOMPLETE_EXPIRED: { label: "Expired", variant: "outline" },
  CANCELED: { label: "Canceled", variant: "outline" },
  UNPAID: { label: "Unpaid", variant: "destructive" },
  PAUSED: { label: "Paused", variant: "secondary" },
};

/** Stripe's invoice statuses (draft, open, paid, uncollectible, void) as badges. */
export function invoiceBadge(status: string): { label: string; variant: BadgeProps["variant"] } {
  switch (status) {
    case "paid":
      return { label: "Paid", variant: "success" };
    case "open":
      return { label: "Open", variant: "warning" };
    case "uncollectible":
      return { label: "Uncollectible", variant: "destructive" };
    case "void":
      return { label: "Void", variant: "outline" };
    case "draft":
      return { label: "Draft", variant: "secondary" };
    default:
      return { label: status.charAt(0).toUpperCase() + status.slice(1), variant: "outline" };
  }
}
