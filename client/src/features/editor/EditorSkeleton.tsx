import { Skeleton } from "@/components/ui/skeleton";

/** The editor's own shape while it loads: toolbar, models panel, grid, settings panel. */
export function EditorSkeleton() {
  return (
    <div className="flex h-full flex-col" aria-busy="true" aria-label="Loading the workflow" data-testid="editor-skeleton">
      <div className="flex min-h-14 shrink-0 items-center gap-3 border-b px-4 py-2">
        <Skeleton className="size-9" />
        <Skeleton className="h-8 w-full sm:w-64" />
        <Skeleton className="ml-auto h-9 w-20" />
      </div>
      <div className="flex min-h-0 flex-1">
        <div className="hidden w-64 shrink-0 flex-col gap-1.5 border-r p-3 md:flex">
          <Skeleton className="mb-2 h-4 w-24" />
          <Skeleton className="h-9" />
          {Array.from({ length: 4 }, (_, i) => <Skeleton key={i} className="h-14" />)}
        </div>
        <div className="relative flex-1 overflow-hidden bg-[linear-gradient(var(--border)_1px,transparent_1px),linear-gradient(90deg,var(--border)_1px,transparent_1px)] bg-[size:300px_300px]">
          <Skeleton className="absolute left-[12%] top-[20%] h-64 w-60 rounded-xl" />
          <Skeleton className="absolute left-[45%] top-[20%] h-64 w-60 rounded-xl max-sm:hidden" />
        </div>
        <div className="hidden w-80 shrink-0 flex-col gap-4 border-l p-4 md:flex">
          <Skeleton className="h-9" />
          {Array.from({ length: 5 }, (_, i) => <Skeleton key={i} className="h-14" />)}
        </div>
      </div>
    </div>
  );
}
