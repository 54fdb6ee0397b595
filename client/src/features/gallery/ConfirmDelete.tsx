import { Button } from "@/components/ui/button";
import { Dialog, DialogContent, DialogDescription, DialogHeader, DialogTitle } from "@/components/ui/dialog";

/** Deleting gallery items cannot be undone (the files go too), so it is asked once more. */
export function ConfirmDelete({ count, open, onOpenChange, onConfirm }: {
  count: number;
  open: boolean;
  onOpenChange: (open: boolean) => void;
  onConfirm: () => void;
}) {
  const what = count === 1 ? "this item" : `these ${count} items`;
  return (
    <Dialog open={open} onOpenChange={onOpenChange}>
      <DialogContent className="max-w-sm" data-testid="confirm-delete">
        <DialogHeader>
          <DialogTitle>Delete {what}?</DialogTitle>
          <DialogDescription>They leave the gallery and their files are removed. This cannot be undone.</DialogDescription>
        </DialogHeader>
        <div className="flex justify-end gap-2">
          <Button variant="outline" onClick={() => onOpenChange(false)}>Keep them</Button>
          <Button variant="destructive" onClick={() => { onOpenChange(false); onConfirm(); }}>Delete</Button>
        </div>
      </DialogContent>
    </Dialog>
  );
}
