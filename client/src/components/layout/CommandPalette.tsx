import { lazy, Suspense, useEffect, useState } from "react";
import { Search } from "lucide-react";

// The palette's code (cmdk and the dialog) loads the first time it opens.
const CommandDialog = lazy(() => import("./CommandDialog"));

export function CommandPalette() {
  const [open, setOpen] = useState(false);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (event.key.toLowerCase() === "k" && (event.metaKey || event.ctrlKey)) {
        event.preventDefault();
        setLoaded(true);
        setOpen((o) => !o);
      }
    };
    window.addEventListener("keydown", onKey);
    return () => window.removeEventListener("keydown", onKey);
  }, []);
  return (
    <>
      <button
        onClick={() => { setLoaded(true); setOpen(true); }}
        onPointerEnter={() => setLoaded(true)}
        className="flex h-9 w-72 min-w-0 flex-1 items-center gap-2 rounded-md border bg-background px-3 text-sm text-muted-foreground hover:bg-accent sm:flex-none"
      >
        <Search className="size-4 shrink-0" /> <span className="truncate">Search or jump to…</span>
        <kbd className="ml-auto rounded border bg-muted px-1.5 font-mono text-[10px] max-sm:hidden">Ctrl K</kbd>
      </button>
      {loaded && (
        <Suspense fallback={null}>
          <CommandDialog open={open} onOpenChange={setOpen} />
        </Suspense>
      )}
    </>
  );
}
