import { lazy, Suspense } from "react";
import { NavLink, Route, Routes } from "react-router-dom";
import { Globe, ShieldOff } from "lucide-react";
import { useViewer } from "@/lib/useViewer";
import { cn } from "@/lib/utils";
import { Alert, AlertDescription, AlertTitle } from "@/components/ui/alert";
import { Skeleton } from "@/components/ui/skeleton";
import { MfaStepUp } from "@/features/auth/MfaStepUp";
import { OverviewPage } from "./OverviewPage";
import { UsersPage } from "./UsersPage";

const UserPage = lazy(() => import("./UserPage"));
const AuditLogPage = lazy(() => import("./AuditLogPage"));

export const NEEDS_MFA = "needs MFA";
export const WRONG_NETWORK = "not from an allowed network";

/** The console opens only when the API says so (ADMIN, allowed network, aal2); an admin
 * without the second factor is led through it first. */
export default function AdminPage() {
  const { viewer } = useViewer();
  if (!viewer) return <ConsoleSkeleton />;
  const access = viewer.adminAccess;
  if (!access.allowed) {
    if (viewer.role === "ADMIN" && access.reason === NEEDS_MFA) return <MfaStepUp />;
    return (
      <div className="p-4 sm:p-6">
        <Alert variant="warning" className="max-w-2xl" data-testid="admin-refused">
          {access.reason === WRONG_NETWORK ? <Globe /> : <ShieldOff />}
          <AlertTitle>{access.reason === WRONG_NETWORK ? "Not from an allowed network" : "The admin console is for operators"}</AlertTitle>
          <AlertDescription>
            {access.reason === WRONG_NETWORK
              ? "Admin powers only work from approved networks, and this connection is not from one. Connect from the office network or the VPN and reload; until then you are an ordinary user here."
              : access.reason ?? "Your account has no admin powers."}
          </AlertDescription>
        </Alert>
      </div>
    );
  }
  return (
    <div className="flex min-w-0 flex-col gap-4 p-4 sm:p-6">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <h1 className="text-2xl font-semibold tracking-tight">Admin</h1>
        <nav aria-label="Admin" className="inline-flex h-9 items-center rounded-lg bg-muted p-1 text-sm">
          {[["/admin", "Overview"], ["/admin/users", "Users"], ["/admin/audit", "Audit log"]].map(([to, label]) => (
            <NavLink key={to} to={to!} end={to === "/admin"}
              className={({ isActive }) => cn("rounded-md px-3 py-1 font-medium text-muted-foreground", isActive && "bg-background text-foreground shadow-sm")}>
              {label}
            </NavLink>
          ))}
        </nav>
      </div>
      <Suspense fallback={<ConsoleSkeleton />}>
        <Routes>
          <Route index element={<OverviewPage />} />
          <Route path="users" element={<UsersPage />} />
          <Route path="users/:id" element={<UserPage />} />
          <Route path="audit" element={<AuditLogPage />} />
        </Routes>
      </Suspense>
    </div>
  );
}

function ConsoleSkeleton() {
  return (
    <div className="flex flex-col gap-4 p-4 sm:p-6" aria-busy="true" aria-label="Loading">
      <Skeleton className="h-8 w-40" />
      <Skeleton className="h-40" />
      <div className="grid gap-4 md:grid-cols-2"><Skeleton className="h-56" /><Skeleton className="h-56" /></div>
    </div>
  );
}
