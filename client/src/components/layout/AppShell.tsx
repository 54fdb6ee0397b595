import { NavLink, Outlet } from "react-router-dom";
import { CreditCard, Images, KeyRound, LayoutGrid, ListChecks, LogOut, Moon, Shield, ShieldAlert, Sparkles, Sun } from "lucide-react";
import { cn, formatCents } from "@/lib/utils";
import { useViewer } from "@/lib/useViewer";
import { signOut } from "@/lib/session";
import { useTheme } from "@/lib/theme";
import { Badge } from "@/components/ui/badge";
import { Button } from "@/components/ui/button";
import { Skeleton } from "@/components/ui/skeleton";
import { CommandPalette } from "./CommandPalette";
import { MobileNav } from "./MobileNav";
import type { NavItem } from "./nav";
import { PastDueBanner } from "@/features/billing/PastDue";

const NAV: NavItem[] = [
  { to: "/workflows", label: "Workflows", icon: LayoutGrid },
  { to: "/gallery", label: "Gallery", icon: Images },
  { to: "/runs", label: "Runs", icon: ListChecks },
  { to: "/loras", label: "LoRAs", icon: Sparkles },
  { to: "/billing", label: "Billing", icon: CreditCard },
  { to: "/api-keys", label: "API keys", icon: KeyRound },
];

export function AppShell() {
  const { viewer } = useViewer();
  const [dark, toggleTheme] = useTheme();
  // Admin shows only where the API would let it open; an admin who lacks only the second factor
  // is offered the way to it instead.
  const access = viewer?.adminAccess;
  const nav = access?.allowed
    ? [...NAV, { to: "/admin", label: "Admin", icon: Shield }]
    : viewer?.role === "ADMIN" && access?.reason === "needs MFA"
      ? [...NAV, { to: "/admin", label: "Unlock admin", icon: ShieldAlert }]
      : NAV;
  return (
    <div className="flex h-full">
      <aside className="hidden w-56 shrink-0 flex-col border-r bg-card md:flex" aria-label="Sidebar">
        <div className="flex h-14 items-center gap-2 px-4 font-semibold">
          <div className="grid size-7 place-items-center rounded-md bg-primary text-primary-foreground">L</div>
          Lattice
        </div>
        <nav className="flex flex-1 flex-col gap-1 px-2">
          {nav.map(({ to, label, icon: Icon }) => (
            <NavLink
              key={to}
              to={to}
              className={({ isActive }) =>
                cn(
                  "flex items-center gap-2 rounded-md px-3 py-2 text-sm text-muted-foreground hover:bg-accent hover:text-foreground",
                  isActive && "bg-accent font-medium text-foreground",
                )
              }
            >
              <Icon className="size-4" /> {label}
            </NavLink>
          ))}
        </nav>
        <div className="border-t p-3 text-xs">
          <ViewerSummary />
        </div>
      </aside>
      <div className="flex min-w-0 flex-1 flex-col">
        <header className="flex h-14 shrink-0 items-center justify-between gap-2 border-b px-2 sm:gap-4 sm:px-4">
          <MobileNav items={nav} footer={<ViewerSummary />} />
          <CommandPalette />
          <div className="flex items-center gap-2">
            <Button variant="ghost" size="icon" onClick={toggleTheme} aria-label="Toggle theme" title={dark ? "Light theme" : "Dark theme"}>
              {dark ? <Sun /> : <Moon />}
            </Button>
            <Button variant="ghost" size="icon" onClick={() => void signOut()} aria-label="Sign out" title="Sign out">
              <LogOut />
            </Button>
          </div>
        </header>
        {viewer?.billing.subscriptionStatus === "PAST_DUE" && <PastDueBanner graceEndsAt={viewer.billing.graceEndsAt} />}
        <main className="min-h-0 flex-1 overflow-auto">
          <Outlet />
        </main>
      </div>
    </div>
  );
}

/** Role and credits, always visible; a fixed-height block so nothing moves when it loads. */
function ViewerSummary() {
  const { viewer } = useViewer();
  if (!viewer) {
    return (
      <div className="flex h-12 flex-col gap-2">
        <Skeleton className="h-4 w-32" />
        <Skeleton className="h-4 w-20" />
      </div>
    );
  }
  const credits = viewer.credits;
  return (
    <div className="flex h-12 flex-col gap-1.5" data-testid="viewer-summary">
      <div className="flex items-center justify-between gap-2">
        <span className="truncate text-muted-foreground" title={viewer.email ?? ""}>{viewer.email}</span>
        <Badge variant={viewer.role === "FREE" ? "secondary" : "default"}>{viewer.role}</Badge>
      </div>
      <div className="text-muted-foreground" data-testid="credits">
        {viewer.role === "FREE"
          ? `${formatCents(credits.freeRemaining)} free credits left`
          : `${formatCents(credits.periodUsageCents)} used this month`}
        {credits.reservedCents > 0 && ` · ${formatCents(credits.reservedCents)} reserved`}
      </div>
    </div>
  );
}
