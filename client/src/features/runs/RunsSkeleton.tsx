import { Card } from "@/components/ui/card";
import { Skeleton } from "@/components/ui/skeleton";

/** Run rows as they will be (status badge, name, node count, cost, time), each the height of a
 * real row, so nothing moves when the runs arrive. */
export function RunRowsSkeleton() {
  return (
    <>
      {Array.from({ length: 8 }, (_, i) => (
        <div key={i} className="flex h-14 items-center gap-3 px-4 sm:gap-4">
          <Skeleton className="h-5 w-20 rounded-full" />
          <Skeleton className="h-4 w-40" />
          <Skeleton className="h-4 w-14 max-sm:hidden" />
          <Skeleton className="ml-auto h-4 w-12" />
          <Skeleton className="h-4 w-28 max-sm:hidden" />
        </div>
      ))}
    </>
  );
}

/** The runs page's own shape while its code loads. */
export function RunsSkeleton() {
  return (
    <div className="flex flex-col gap-6 p-4 sm:p-6" aria-busy="true" aria-label="Loading runs" data-testid="runs-skeleton">
      <Skeleton className="h-8 w-24" />
      <Card className="divide-y"><RunRowsSkeleton /></Card>
    </div>
  );
}
