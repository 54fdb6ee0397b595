import { useState } from "react";
import { useQuery } from "@apollo/client";
import { Link, useSearchParams } from "react-router-dom";
import { X } from "lucide-react";
import { AdminAuditLogDocument, type AdminAuditLogQuery } from "@/gql/lazy/graphql";
import { formatDate } from "@/lib/utils";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Skeleton } from "@/components/ui/skeleton";
import { AdminError, LoadMore } from "./common";

type Entry = AdminAuditLogQuery["admin"]["auditLog"]["edges"][number]["node"];

// What the API writes today (suggestions only: any action can be typed).
const ACTIONS = [
  "admin.refused", "api_key.created", "api_key.revoked", "credits.adjusted", "credits.granted", "model.disabled", "model.enabled",
  "platform.daily_spend_limit.changed", "role.changed", "spending_cap.changed", "spending_cap_limit.changed", "user.suspended", "user.unsuspended",
];

/** A calendar day typed in the filter → the instant its day starts (or ends) in the reader's zone. */
function dayBound(day: string, end: boolean): string | null {
  if (!/^\d{4}-\d{2}-\d{2}$/.test(day)) return null;
  const date = new Date(`${day}T00:00:00`);
  if (end) date.setDate(date.getDate() + 1);
  return date.toISOString();
}

/** Filters live in the address (?actor=&action=&since=&until=), so a filtered view can be shared. */
export default function AuditLogPage() {
  const [params, setParams] = useSearchParams();
  const filters = { actor: params.get("actor") ?? "", action: params.get("action") ?? "", since: params.get("since") ?? "", until: params.get("until") ?? "" };
  const [action, setAction] = useState(filters.action);
  const setFilter = (key: keyof typeof filters, value: string) => {
    const next = new URLSearchParams(params);
    if (value) next.set(key, value);
    else next.delete(key);
    setParams(next, { replace: true });
  };
  const { data, error, loading, fetchMore, refetch } = useQuery(AdminAuditLogDocument, {
    variables: {
      actor: filters.actor || null,
      action: filters.action || null,
      since: dayBound(filters.since, false),
      until: dayBound(filters.until, true),
    },
    notifyOnNetworkStatusChange: true,
    fetchPolicy: "cache-and-network",
  });
  const log = data?.admin.auditLog;
  return (
    <div className="grid min-w-0 gap-3">
      <form
        className="grid grid-cols-2 items-end gap-3 sm:flex sm:flex-wrap"
        aria-label="Filter the audit log"
        onSubmit={(e) => { e.preventDefault(); setFilter("action", action.trim()); }}
      >
        <div className="col-span-2 grid gap-1.5 sm:w-56">
          <Label htmlFor="audit-action">Action</Label>
          <Input id="audit-action" value={action} onChange={(e) => setAction(e.target.value)} onBlur={() => setFilter("action", action.trim())} placeholder="Any action" list="audit-actions" />
          <datalist id="audit-actions">{ACTIONS.map((a) => <option key={a} value={a} />)}</datalist>
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="audit-since">From</Label>
          <Input id="audit-since" type="date" value={filters.since} onChange={(e) => setFilter("since", e.target.value)} />
        </div>
        <div className="grid gap-1.5">
          <Label htmlFor="audit-until">To</Label>
          <Input id="audit-until" type="date" value={filters.until} onChange={(e) => setFilter("until", e.target.value)} />
        </div>
        <Button type="submit" variant="outline" className="col-span-2 sm:col-span-1">Filter</Button>
      </form>
      {filters.actor && (
        <div className="flex items-center gap-2 text-sm">
          <span className="text-muted-foreground">By actor</span>
          <Badge variant="outline" className="max-w-full truncate font-mono">{filters.actor}</Badge>
          <Button size="sm" variant="ghost" onClick={() => setFilter("actor", "")} aria-label="Clear the actor filter"><X /> Clear</Button>
        </div>
      )}
      {error && !data ? (
        <AdminError error={error} retry={() => void refetch()} />
      ) : (
        <Card className="min-w-0 overflow-hidden p-0">
          <ul aria-label="Audit log" data-testid="audit-log" className="divide-y" aria-busy={loading}>
            {!log
              ? Array.from({ length: 8 }, (_, i) => (
                  <li key={i} className="grid gap-2 px-4 py-3"><Skeleton className="h-5 w-64 max-w-full" /><Skeleton className="h-4 w-80 max-w-full" /></li>
                ))
              : log.edges.length === 0
                ? <li className="px-4 py-6 text-sm text-muted-foreground">Nothing matches these filters.</li>
                : log.edges.map(({ node }) => <AuditRow key={node.id} entry={node} onActor={(id) => setFilter("actor", id)} />)}
          </ul>
          <LoadMore
            hasMore={Boolean(log?.pageInfo.hasNextPage)}
            loading={loading}
            onMore={() => void fetchMore({
              variables: { after: log?.pageInfo.endCursor },
              updateQuery: (prev, { fetchMoreResult }) => ({
                admin: { ...fetchMoreResult.admin, auditLog: { ...fetchMoreResult.admin.auditLog, edges: [...prev.admin.auditLog.edges, ...fetchMoreResult.admin.auditLog.edges] } },
              }),
            })}
          />
        </Card>
      )}
    </div>
  );
}

function AuditRow({ entry, onActor }: { entry: Entry; onActor: (id: string) => void }) {
  const details = entry.details && typeof entry.details === "object" ? Object.entries(entry.details as Record<string, unknown>) : [];
  const refused = /refused|denied|forbidden/i.test(entry.action);
  return (
    <li className="grid grid-cols-[minmax(0,1fr)] gap-1 px-4 py-3 text-sm" data-testid="audit-entry" data-action={entry.action}>
      <div className="flex flex-wrap items-center gap-x-2 gap-y-1">
        <Badge variant={refused ? "destructive" : "secondary"} className="font-mono">{entry.action}</Badge>
        {entry.actorId ? (
          <button type="button" className="max-w-full truncate text-left font-medium hover:underline" title="Show only this actor" onClick={() => onActor(entry.actorId!)}>
            {entry.actorEmail ?? entry.actorId}
          </button>
        ) : (
          <span className="text-muted-foreground">system</span>
        )}
        {entry.targetId && (
          <span className="min-w-0 truncate text-muted-foreground">→ <Link to={`/admin/users/${entry.targetId}`} className="font-mono text-xs hover:underline">{entry.targetId}</Link></span>
        )}
      </div>
      <div className="flex flex-wrap gap-x-3 text-xs text-muted-foreground">
        <time dateTime={entry.createdAt}>{formatDate(entry.createdAt, { dateStyle: "medium", timeStyle: "medium" })}</time>
        {entry.ip && <span>IP {entry.ip}</span>}
      </div>
      {details.length > 0 && (
        <dl className="flex flex-wrap gap-x-3 gap-y-0.5 text-xs">
          {details.map(([key, value]) => (
            <div key={key} className="flex min-w-0 gap-1"><dt className="text-muted-foreground">{key}</dt><dd className="min-w-0 break-all">{typeof value === "string" ? value : JSON.stringify(value)}</dd></div>
          ))}
        </dl>
      )}
    </li>
  );
}
