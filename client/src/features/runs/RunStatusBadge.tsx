import { CheckCircle2, CircleDashed, Clock, Loader2, Ban, XCircle, SkipForward, Zap } from "lucide-react";
import { Badge } from "@/components/ui/badge";

const LOOK: Record<string, { variant: "success" | "secondary" | "destructive" | "warning" | "outline" | "default"; icon: typeof Clock; label: string }> = {
  PENDING: { variant: "outline", icon: CircleDashed, label: "Waiting" },
  QUEUED: { variant: "secondary", icon: Clock, label: "Queued" },
  RUNNING: { variant: "default", icon: Loader2, label: "Running" },
  SUCCEEDED: { variant: "success", icon: CheckCircle2, label: "Done" },
  FAILED: { variant: "destructive", icon: XCircle, label: "Failed" },
  CANCELLED: { variant: "outline", icon: Ban, label: "Cancelled" },
  SKIPPED: { variant: "outline", icon: SkipForward, label: "Skipped" },
  // The last output, unchanged since, shown again for free.
  CACHED: { variant: "warning", icon: Zap, label: "Reused" },
};

export function RunStatusBadge({ status }: { status: string }) {
  const look = LOOK[status] ?? LOOK.PENDING!;
  const Icon = look.icon;
  return (
    <Badge variant={look.variant} data-status={status}>
      <Icon className={status === "RUNNING" ? "animate-spin" : undefined} /> {look.label}
    </Badge>
  );
}
