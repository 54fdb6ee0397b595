import { useState } from "react";
import { useMutation, useQuery } from "@apollo/client";
import { Link, useParams, useSearchParams } from "react-router-dom";
import { ArrowLeft } from "lucide-react";
import {
  AdminAdjustCreditsDocument,
  AdminSetRoleDocument,
  AdminSetSpendingCapLimitDocument,
  AdminSetSuspendedDocument,
  AdminUserDocument,
  type AdminUserFieldsFragment,
  type AdminUserQuery,
  type Role,
} from "@/gql/lazy/graphql";
import { describeError } from "@/lib/errors";
import { formatDate, relativeTime } from "@/lib/utils";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Card, CardContent, CardDescription, CardHeader, CardTitle } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Label } from "@/components/ui/label";
import { Select } from "@/components/ui/select";
import { Skeleton } from "@/components/ui/skeleton";
import { RunStatusBadge } from "@/features/runs/RunStatusBadge";
import { AdminError, dollars, LoadMore, parseDollars } from "./common";
import { PlanBadge } from "./UsersPage";

type Detail = NonNullable<AdminUserQuery["admin"]["user"]>;

export default function UserPage() {
  const { id = "" } = useParams();
  const [params] = useSearchParams();
  const { data, error, loading, fetchMore, refetch } = useQuery(AdminUserDocument, { variables: { id }, notifyOnNetworkStatusChange: true });
  const user = data?.admin.user;
  const back = `/admin/users${params.get("q") ? `?q=${encodeURIComponent(params.get("q")!)}` : ""}`;
  return (
    <div className="grid min-w-0 gap-4">
      <Link to={back} className="inline-flex w-fit items-center gap-1 text-sm text-muted-foreground hover:text-foreground"><ArrowLeft className="size-4" /> All users</Link>
      {error && !data ? (
        <AdminError error={error} retry={() => void refetch()} />
      ) : data && !user ? (
        <p className="text-sm text-muted-foreground">No such user.</p>
      ) : !user ? (
        <UserSkeleton />
      ) : (
        <>
          <Summary user={user} />
          <div className="grid min-w-0 gap-4 lg:grid-cols-2">
            <CreditsForm user={user} />
            <RoleForm user={user} />
            <SuspendForm user={user} />
            <CapForm user={user} />
          </div>
          <div className="grid min-w-0 gap-4 lg:grid-cols-2">
            <Ledger user={user} loading={loading} onMore={() => void fetchMore({
              variables: { ledgerAfter: user.ledger.pageInfo.endCursor },
              updateQuery: (prev, { fetchMoreResult }) => merge(prev, fetchMoreResult, "ledger"),
            })} />
            <Runs user={user} loading={loading} onMore={() => void fetchMore({
              variables: { runsAfter: user.runs.pageInfo.endCursor },
              updateQuery: (prev, { fetchMoreResult }) => merge(prev, fetchMoreResult, "runs"),
            })} />
          </div>
        </>
      )}
    </div>
  );
}

function merge(prev: AdminUserQuery, next: AdminUserQuery, key: "ledger" | "runs"): AdminUserQuery {
  const a = prev.admin.user;
  const b = next.admin.user;
  if (!a || !b) return prev;
  const edges = [...a[key].edges, ...b[key].edges];
  return { admin: { ...prev.admin, user: { ...a, [key]: { ...b[key], edges } } } } as AdminUserQuery;
}

function UserSkeleton() {
  return (
    <div className="grid gap-4" aria-busy="true" aria-label="Loading">
      <Skeleton className="h-36" />
      <div className="grid gap-4 lg:grid-cols-2">{Array.from({ length: 4 }, (_, i) => <Skeleton key={i} className="h-44" />)}</div>
      <div className="grid gap-4 lg:grid-cols-2"><Skeleton className="h-64" /><Skeleton className="h-64" /></div>
    </div>
  );
}

function Summary({ user }: { user: Detail }) {
  const facts: [string, React.ReactNode][] = [
    ["Role", <Badge key="r" variant={user.role === "ADMIN" ? "default" : "outline"}>{user.role}</Badge>],
    ["Plan", <PlanBadge key="p" user={user} />],
    ["Credits", <span key="c" data-testid="admin-user-credits">{dollars(user.creditsCents)}</span>],
    ["This month", dollars(user.periodUsageCents)],
    ["Cap limit", user.spendingCapLimitCents === null || user.spendingCapLimitCents === undefined ? "default" : dollars(user.spendingCapLimitCents)],
    ["Joined", formatDate(user.createdAt)],
    // The API counts runs and API calls as activity, not sign-ins.
    ["Last run or API call", user.lastActiveAt ? relativeTime(user.lastActiveAt) : "none yet"],
  ];
  return (
    <Card>
      <CardHeader>
        <CardTitle className="break-all text-xl" data-testid="admin-user-email">{user.email ?? "(no email)"}</CardTitle>
        <CardDescription className="break-all font-mono text-xs">{user.id}</CardDescription>
      </CardHeader>
      <CardContent>
        <dl className="grid grid-cols-2 gap-x-4 gap-y-3 text-sm sm:grid-cols-4 xl:grid-cols-7">
          {facts.map(([label, value]) => (
            <div key={label} className="grid gap-0.5"><dt className="text-xs text-muted-foreground">{label}</dt><dd className="tabular-nums">{value}</dd></div>
          ))}
        </dl>
      </CardContent>
    </Card>
  );
}

/** Each change needs a reason: it goes to the audit log with the admin, the target and the IP. */
function ActionCard({ title, description, children, onSubmit, submitLabel, busy, error, destructive }: {
  title: string; description: string; children: React.ReactNode; onSubmit: (reason: string) => Promise<boolean>;
  submitLabel: string; busy: boolean; error: string | null; destructive?: boolean;
}) {
  const [reason, setReason] = useState("");
  const [ownError, setOwnError] = useState<string | null>(null);
  const id = title.toLowerCase().replace(/\W+/g, "-");
  return (
    <Card className="min-w-0">
      <CardHeader>
        <CardTitle className="text-base">{title}</CardTitle>
        <CardDescription>{description}</CardDescription>
      </CardHeader>
      <CardContent>
        <form
          className="grid gap-3"
          aria-label={title}
          onSubmit={async (event) => {
            event.preventDefault();
            setOwnError(null);
            if (!reason.trim()) return setOwnError("Say why: the reason goes to the audit log.");
            if (await onSubmit(reason.trim())) setReason("");
          }}
        >
          {children}
          <div className="grid gap-1.5">
            <Label htmlFor={`${id}-reason`}>Reason</Label>
            <Input id={`${id}-reason`} value={reason} onChange={(e) => setReason(e.target.value)} placeholder="Support ticket, refund, abuse report…" />
          </div>
          <p className="min-h-5 text-sm text-destructive" role="alert">{ownError ?? error}</p>
          <div><Button type="submit" variant={destructive ? "destructive" : "default"} disabled={busy}>{busy ? "Saving…" : submitLabel}</Button></div>
        </form>
      </CardContent>
    </Card>
  );
}

function useActionError() {
  const [error, setError] = useState<string | null>(null);
  const fail = (err: unknown) => {
    const described = describeError(err);
    setError(described.code === "FORBIDDEN" ? `Refused: ${described.message}` : `${described.title}: ${described.message}`);
  };
  return { error, setError, fail };
}

function CreditsForm({ user }: { user: Detail }) {
  const [amount, setAmount] = useState("");
  // One key per grant: a click retried after a lost answer grants once; a new grant gets a new key.
  const [grantKey, setGrantKey] = useState(() => crypto.randomUUID());
  const { error, setError, fail } = useActionError();
  // The ledger is the server's: refetch it rather than guess the new entry.
  const [adjust, { loading }] = useMutation(AdminAdjustCreditsDocument, { refetchQueries: [AdminUserDocument], awaitRefetchQueries: true });
  return (
    <ActionCard
      title="Grant or adjust credits"
      description="A positive amount grants credits; a negative one takes them back. It appears in the user's ledger."
      submitLabel="Apply"
      busy={loading}
      error={error}
      onSubmit={async (reason) => {
        setError(null);
        const cents = parseDollars(amount);
        if (cents === null || cents === 0) { setError("Type an amount in dollars, like 10 or -2.50."); return false; }
        try {
          await adjust({ variables: { userId: user.id, amountCents: cents, reason, idempotencyKey: grantKey } });
          setAmount("");
          setGrantKey(crypto.randomUUID());
          return true;
        } catch (err) {
          fail(err);
          return false;
        }
      }}
    >
      <div className="grid gap-1.5">
        <Label htmlFor="credit-amount">Amount (USD)</Label>
        <Input id="credit-amount" inputMode="decimal" className="max-w-40" value={amount} onChange={(e) => { setAmount(e.target.value); setGrantKey(crypto.randomUUID()); }} placeholder="10.00" />
      </div>
    </ActionCard>
  );
}

function optimisticUser(user: AdminUserFieldsFragment, change: Partial<AdminUserFieldsFragment>): AdminUserFieldsFragment {
  return { ...pickFields(user), ...change, __typename: "AdminUser" };
}

function pickFields(user: AdminUserFieldsFragment): AdminUserFieldsFragment {
  const { id, email, role, suspended, periodUsageCents, planStatus, lastActiveAt, createdAt, creditsCents, spendingCapLimitCents } = user;
  return { id, email, role, suspended, periodUsageCents, planStatus, lastActiveAt, createdAt, creditsCents, spendingCapLimitCents };
}

function RoleForm({ user }: { user: Detail }) {
  const [role, setRole] = useState<Role>(user.role);
  const { error, setError, fail } = useActionError();
  const [setRoleMutation, { loading }] = useMutation(AdminSetRoleDocument);
  return (
    <ActionCard
      title="Change role"
      description="FREE and PRO follow billing; ADMIN powers also need an allowed network and two-factor sign-in."
      submitLabel="Change role"
      busy={loading}
      error={error}
      onSubmit={async (reason) => {
        setError(null);
        try {
          await setRoleMutation({ variables: { userId: user.id, role, reason }, optimisticResponse: { adminSetRole: optimisticUser(user, { role }) } });
          return true;
        } catch (err) {
          fail(err);
          setRole(user.role);
          return false;
        }
      }}
    >
      <div className="grid gap-1.5">
        <Label htmlFor="user-role">Role</Label>
        <div className="max-w-40">
          <Select id="user-role" aria-label="Role" value={role} onValueChange={(v) => setRole(v as Role)}
            options={[{ value: "FREE", label: "Free" }, { value: "PRO", label: "Pro" }, { value: "ADMIN", label: "Admin" }]} />
        </div>
      </div>
    </ActionCard>
  );
}

function SuspendForm({ user }: { user: Detail }) {
  const { error, setError, fail } = useActionError();
  const [setSuspended, { loading }] = useMutation(AdminSetSuspendedDocument);
  const next = !user.suspended;
  return (
    <ActionCard
      title={user.suspended ? "Unsuspend" : "Suspend"}
      description={user.suspended
        ? "This user can sign in and see their gallery, but cannot run, upload or save. Unsuspending gives that back."
        : "The user can still sign in and see their gallery, but cannot run, upload or save anything."}
      submitLabel={user.suspended ? "Unsuspend" : "Suspend"}
      destructive={!user.suspended}
      busy={loading}
      error={error}
      onSubmit={async (reason) => {
        setError(null);
        try {
          await setSuspended({ variables: { userId: user.id, suspended: next, reason }, optimisticResponse: { adminSetSuspended: optimisticUser(user, { suspended: next }) } });
          return true;
        } catch (err) {
          fail(err);
          return false;
        }
      }}
    >
      {null}
    </ActionCard>
  );
}

function CapForm({ user }: { user: Detail }) {
  const [limit, setLimit] = useState(user.spendingCapLimitCents != null ? (user.spendingCapLimitCents / 100).toFixed(2) : "");
  const { error, setError, fail } = useActionError();
  const [save, { loading }] = useMutation(AdminSetSpendingCapLimitDocument);
  return (
    <ActionCard
      title="Spending cap limit"
      description="The highest monthly spending cap this user may set for themselves."
      submitLabel="Save limit"
      busy={loading}
      error={error}
      onSubmit={async (reason) => {
        setError(null);
        const cents = parseDollars(limit);
        if (cents === null || cents < 0) { setError("Type an amount in dollars, like 200."); return false; }
        try {
          await save({ variables: { userId: user.id, limitCents: cents, reason } });
          return true;
        } catch (err) {
          fail(err);
          return false;
        }
      }}
    >
      <div className="grid gap-1.5">
        <Label htmlFor="cap-limit">Limit (USD)</Label>
        <Input id="cap-limit" inputMode="decimal" className="max-w-40" value={limit} onChange={(e) => setLimit(e.target.value)} />
      </div>
    </ActionCard>
  );
}

function Ledger({ user, loading, onMore }: { user: Detail; loading: boolean; onMore: () => void }) {
  return (
    <Card className="min-w-0">
      <CardHeader><CardTitle className="text-base">Ledger</CardTitle></CardHeader>
      <CardContent className="p-0">
        <ul aria-label="Ledger" data-testid="admin-ledger" className="divide-y">
          {user.ledger.edges.length === 0 && <li className="px-6 pb-6 text-sm text-muted-foreground">No entries.</li>}
          {user.ledger.edges.map(({ node }) => (
            <li key={node.id} className="grid grid-cols-[minmax(0,1fr)_auto] gap-x-3 px-6 py-2.5 text-sm" data-testid="ledger-entry">
              <span className="min-w-0">
                <span className="font-medium">{node.kind.toLowerCase().replace(/_/g, " ")}</span>
                {node.description && <span className="block truncate text-muted-foreground" title={node.description}>{node.description}</span>}
              </span>
              <span className="text-right tabular-nums">{dollars(node.amountCents, true)}</span>
              <span className="col-span-2 text-xs text-muted-foreground">{formatDate(node.createdAt, { dateStyle: "medium", timeStyle: "short" })} · paid by {node.payer.toLowerCase()}</span>
            </li>
          ))}
        </ul>
        <LoadMore hasMore={user.ledger.pageInfo.hasNextPage} loading={loading} onMore={onMore} />
      </CardContent>
    </Card>
  );
}

function Runs({ user, loading, onMore }: { user: Detail; loading: boolean; onMore: () => void }) {
  return (
    <Card className="min-w-0">
      <CardHeader><CardTitle className="text-base">Runs</CardTitle></CardHeader>
      <CardContent className="p-0">
        <ul aria-label="Runs" className="divide-y">
          {user.runs.edges.length === 0 && <li className="px-6 pb-6 text-sm text-muted-foreground">No runs.</li>}
          {user.runs.edges.map(({ node }) => (
            <li key={node.id} className="flex flex-wrap items-center justify-between gap-2 px-6 py-2.5 text-sm">
              <span className="flex min-w-0 items-center gap-2"><RunStatusBadge status={node.status} /><span className="truncate text-muted-foreground">{formatDate(node.createdAt, { dateStyle: "medium", timeStyle: "short" })}</span></span>
              <span className="tabular-nums">{dollars(node.costCents)}<span className="text-muted-foreground"> / est. {dollars(node.estimatedCostCents)}</span></span>
            </li>
          ))}
        </ul>
        <LoadMore hasMore={user.runs.pageInfo.hasNextPage} loading={loading} onMore={onMore} />
      </CardContent>
    </Card>
  );
}
