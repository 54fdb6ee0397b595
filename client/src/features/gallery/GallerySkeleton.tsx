import { Skeleton } from "@/components/ui/skeleton";

const TILE = 220;
const MIN_TILE = 150;

/** The tiles only: the page's heading and filters are there already, or drawn by `GallerySkeleton`. */
export function GalleryTilesSkeleton() {
  return (
    <div className="grid gap-3" style={{ gridTemplateColumns: `repeat(auto-fill, minmax(${MIN_TILE}px, 1fr))` }} aria-busy="true">
      {Array.from({ length: 12 }, (_, i) => <Skeleton key={i} style={{ height: TILE }} />)}
    </div>
  );
}

/** The gallery's own shape while its code loads: heading, filters, tiles. */
export function GallerySkeleton() {
  return (
    <div className="flex h-full flex-col gap-4 p-4 sm:p-6" aria-busy="true" aria-label="Loading the gallery" data-testid="gallery-skeleton">
      <div className="flex flex-wrap items-center justify-between gap-3">
        <Skeleton className="h-8 w-28" />
        <Skeleton className="h-9 w-56" />
      </div>
      <div className="flex flex-wrap gap-2">
        <Skeleton className="h-9 w-full sm:w-64" />
        <Skeleton className="h-9 w-40" />
        <Skeleton className="h-9 w-36" />
      </div>
      <GalleryTilesSkeleton />
    </div>
  );
}
