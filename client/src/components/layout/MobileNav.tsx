import { useState } from "react";
import { NavLink } from "react-router-dom";
import { Menu } from "lucide-react";
import { cn } from "@/lib/utils";
import { Button } from "@/components/ui/button";
import { Dialog, DialogTitle, SheetContent } from "@/components/ui/dialog";
import type { NavItem } from "./nav";

/** On a phone the sidebar is a menu: a button in the header opens it as a sheet. */
export function MobileNav({ items, footer }: { items: NavItem[]; footer: React.ReactNode }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <Button variant="ghost" size="icon" className="md:hidden" aria-label="Menu" onClick={() => setOpen(true)}><Menu /></Button>
      <Dialog open={open} onOpenChange={setOpen}>
        <SheetContent className="left-0 right-auto w-72 border-l-0 border-r p-4">
          <DialogTitle className="flex items-center gap-2 text-base">
            <span className="grid size-7 place-items-center rounded-md bg-primary text-primary-foreground">L</span> Lattice
          </DialogTitle>
          <nav className="flex flex-1 flex-col gap-1" aria-label="Main">
            {items.map(({ to, label, icon: Icon }) => (
              <NavLink key={to} to={to} onClick={() => setOpen(false)}
                className={({ isActive }) => cn("flex items-center gap-2 rounded-md px-3 py-2.5 text-sm text-muted-foreground hover:bg-accent", isActive && "bg-accent font-medium text-foreground")}>
                <Icon className="size-4" /> {label}
              </NavLink>
            ))}
          </nav>
          <div className="border-t pt-3 text-xs">{footer}</div>
        </SheetContent>
      </Dialog>
    </>
  );
}
