import { cn, formatCents, formatDate } from "@/lib/utils";
import type { DayUsage } from "./usage";

/** One bar per day (already filled, see `fillDays`), scaled to the busiest day. Plain divs:
 * each bar says its day and amount to screen readers and, on hover, as a tooltip. */
export function UsageChart({ days, today }: { days: DayUsage[]; today: string }) {
  const max = Math.max(1, ...days.map((d) => d.cents));
  const label = (d: DayUsage) => `${formatDate(d.day, { day: "numeric", month: "short" })}: ${formatCents(d.cents)}`;
  return (
    <figure className="grid gap-1.5">
      <div role="list" aria-label="Usage by day" data-testid="usage-chart" className="flex h-32 items-end gap-px border-b sm:gap-0.5">
        {days.map((d) => (
          <div
            key={d.day}
            role="listitem"
            aria-label={label(d)}
            title={label(d)}
            data-day={d.day}
            data-cents={d.cents}
            className="group flex h-full min-w-0 flex-1 items-end"
          >
            <div
              className={cn(
                "w-full rounded-t-sm transition-colors",
                d.cents > 0 ? "bg-primary/70 group-hover:bg-primary" : "bg-muted",
                d.day === today && d.cents > 0 && "bg-primary",
              )}
              style={{ height: d.cents > 0 ? `${Math.max(4, (d.cents / max) * 100)}%` : "2px" }}
            />
          </div>
        ))}
      </div>
      <figcaption className="flex justify-between text-xs text-muted-foreground tabular-nums" aria-hidden>
        <span>{days[0] && formatDate(days[0].day, { day: "numeric", month: "short" })}</span>
        <span>{days.length > 1 && formatDate(days.at(-1)?.day ?? "", { day: "numeric", month: "short" })}</span>
      </figcaption>
    </figure>
  );
}
