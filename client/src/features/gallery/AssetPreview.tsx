import { cn } from "@/lib/utils";

interface Previewable { kind: string; url: string; width?: number | null; height?: number | null }

/** An image, or a muted video that plays while hovered. */
export function AssetPreview({ asset, className, controls = false }: { asset: Previewable; className?: string; controls?: boolean }) {
  if (asset.kind === "VIDEO") {
    return (
      <video
        src={asset.url}
        className={cn("bg-black", className)}
        muted
        loop
        playsInline
        preload="metadata"
        controls={controls}
        width={asset.width ?? undefined}
        height={asset.height ?? undefined}
        onMouseEnter={(e) => void e.currentTarget.play().catch(() => undefined)}
        onMouseLeave={(e) => e.currentTarget.pause()}
      />
    );
  }
  return <img src={asset.url} alt="" loading="lazy" className={className} width={asset.width ?? undefined} height={asset.height ?? undefined} draggable={false} />;
}
