import { useEffect, useState } from "react";
import { useQuery } from "@apollo/client";
import { Link, useSearchParams } from "react-router-dom";
import { Search } from "lucide-react";
import { AdminUsersDocument, type AdminUserFieldsFragment } from "@/gql/lazy/graphql";
import { relativeTime } from "@/lib/utils";
import { Badge } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { Input } from "@/components/ui/input";
import { Skeleton } from "@/components/ui/skeleton";
import { AdminError, dollars, LoadMore } from "./common";

/** The search is in the address (?q=), so a user's page links back to the same list. */
export function UsersPage() {
  const [params, setParams] = useSearchParams();
  const search = params.get("q") ?? "";
  const [typed, setTyped] = useState(search);
  useEffect(() => {
    const timer = setTimeout(() => {
      if (typed.trim() !== search) setParams(typed.trim() ? { q: typed.trim() } : {}, { replace: true });
    }, 250);
    return () => clearTimeout(timer);
  }, [typed, search, setParams]);
  const { data, error, loading, fetchMore, refetch } = useQuery(AdminUsersDocument, {
    variables: { search: search || null },
    notifyOnNetworkStatusChange: true,
  });
  const connection = data?.admin.users;
  return (
    <div className="grid min-w-0 gap-3">
      <div className="relative max-w-md">
        <Search className="pointer-events-none absolute left-3 top-1/2 size-4 -translate-y-1/2 text-muted-foreground" />
        <Input type="search" aria-label="Search users by email" placeholder="Search by email" className="pl-9" value={typed} onChange={(e) => setTyped(e.target.value)} />
      </div>
      {error && !data ? (
        <AdminError error={error} retry={() => void refetch()} />
      ) : (
        <Card className="min-w-0 overflow-hidden p-0">
          <div className="hidden grid-cols-[minmax(0,2fr)_5rem_7rem_6rem_7rem] gap-3 border-b px-4 py-2 text-xs font-medium text-muted-foreground md:grid" aria-hidden>
            <span>Email</span><span>Role</span><span>Plan</span><span className="text-right">This month</span><span className="text-right" title="The last run or API call">Last active</span>
          </div>
          <ul aria-label="Users" data-testid="admin-users" aria-busy={loading}>
            {!connection
              ? Array.from({ length: 8 }, (_, i) => (
                  <li key={i} className="grid gap-2 border-b px-4 py-3 last:border-0 md:grid-cols-[minmax(0,2fr)_5rem_7rem_6rem_7rem]">
                    <Skeleton className="h-5 w-56 max-w-full" /><Skeleton className="hidden h-5 md:block" /><Skeleton className="hidden h-5 md:block" /><Skeleton className="hidden h-5 md:block" /><Skeleton className="hidden h-5 md:block" />
                  </li>
                ))
              : connection.edges.length === 0
                ? <li className="px-4 py-6 text-sm text-muted-foreground">{search ? `No user's email contains “${search}”.` : "No users yet."}</li>
                : connection.edges.map(({ node }) => <UserRow key={node.id} user={node} search={search} />)}
          </ul>
          <LoadMore
            hasMore={Boolean(connection?.pageInfo.hasNextPage)}
            loading={loading}
            onMore={() => void fetchMore({
              variables: { after: connection?.pageInfo.endCursor },
              updateQuery: (previous, { fetchMoreResult }) => ({
                admin: { ...fetchMoreResult.admin, users: { ...fetchMoreResult.admin.users, edges: [...previous.admin.users.edges, ...fetchMoreResult.admin.users.edges] } },
              }),
            })}
          />
        </Card>
      )}
    </div>
  );
}

export function PlanBadge({ user }: { user: Pick<AdminUserFieldsFragment, "planStatus" | "suspended"> }) {
  if (user.suspended) return <Badge variant="destructive">Suspended</Badge>;
  if (!user.planStatus) return <Badge variant="secondary">No plan</Badge>;
  const status = user.planStatus.toLowerCase();
  return <Badge variant={status === "active" || status === "trialing" ? "success" : "warning"}>{status.replace(/_/g, " ")}</Badge>;
}

function UserRow({ user, search }: { user: AdminUserFieldsFragment; search: string }) {
  return (
    <li className="border-b last:border-0">
      <Link
        to={`/admin/users/${user.id}${search ? `?q=${encodeURIComponent(search)}` : ""}`}
        className="grid grid-cols-[minmax(0,1fr)_auto] items-center gap-x-3 gap-y-1 px-4 py-3 text-sm hover:bg-accent md:grid-cols-[minmax(0,2fr)_5rem_7rem_6rem_7rem]"
        data-testid="admin-user-row"
      >
        <span className="truncate font-medium" title={user.email ?? user.id}>{user.email ?? <span className="text-muted-foreground">(no email)</span>}</span>
        <span><Badge variant={user.role === "ADMIN" ? "default" : "outline"}>{user.role}</Badge></span>
        <span className="md:block"><PlanBadge user={user} /></span>
        <span className="text-right tabular-nums text-muted-foreground md:text-foreground">{dollars(user.periodUsageCents)}<span className="md:hidden"> this month</span></span>
        <span className="col-span-2 text-xs text-muted-foreground md:col-span-1 md:text-right md:text-sm">
          <span className="md:hidden">Last active </span>{user.lastActiveAt ? relativeTime(user.lastActiveAt) : "no runs yet"}
        </span>
      </Link>
    </li>
  );
}
