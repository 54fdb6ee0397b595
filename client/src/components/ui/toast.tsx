import * as React from "react";
import * as ToastPrimitive from "@radix-ui/react-toast";
import { X } from "lucide-react";
import { cn } from "@/lib/utils";

export interface ToastMessage {
  id: number;
  title: string;
  description?: string;
  variant?: "default" | "destructive";
  action?: { label: string; onClick: () => void };
}

type Listener = (toasts: ToastMessage[]) => void;
let toasts: ToastMessage[] = [];
let nextId = 1;
const listeners = new Set<Listener>();

function emit() {
  for (const listener of listeners) listener(toasts);
}

/** Shows a toast from anywhere (hooks, mutations, the Apollo error link). */
export function toast(message: Omit<ToastMessage, "id">): void {
  toasts = [...toasts.slice(-3), { ...message, id: nextId++ }];
  emit();
}

function dismiss(id: number) {
  toasts = toasts.filter((t) => t.id !== id);
  emit();
}

export function Toaster() {
  const [items, setItems] = React.useState<ToastMessage[]>(toasts);
  React.useEffect(() => {
    listeners.add(setItems);
    return () => void listeners.delete(setItems);
  }, []);
  return (
    <ToastPrimitive.Provider duration={6000}>
      {items.map((t) => (
        <ToastPrimitive.Root
          key={t.id}
          onOpenChange={(open) => !open && dismiss(t.id)}
          className={cn(
            "relative flex w-full items-start gap-3 rounded-lg border bg-background p-4 pr-8 shadow-lg",
            t.variant === "destructive" && "border-destructive/50",
          )}
        >
          <div className="grid gap-1">
            <ToastPrimitive.Title className={cn("text-sm font-semibold", t.variant === "destructive" && "text-destructive")}>
              {t.title}
            </ToastPrimitive.Title>
            {t.description && <ToastPrimitive.Description className="text-sm text-muted-foreground">{t.description}</ToastPrimitive.Description>}
          </div>
          {t.action && (
            <ToastPrimitive.Action altText={t.action.label} asChild>
              <button className="ml-auto shrink-0 rounded-md border px-2.5 py-1 text-xs font-medium hover:bg-accent" onClick={t.action.onClick}>
                {t.action.label}
              </button>
            </ToastPrimitive.Action>
          )}
          <ToastPrimitive.Close className="absolute right-2 top-2 opacity-60 hover:opacity-100" aria-label="Dismiss">
            <X className="size-4" />
          </ToastPrimitive.Close>
        </ToastPrimitive.Root>
      ))}
      <ToastPrimitive.Viewport className="fixed bottom-0 right-0 z-[100] flex w-full max-w-sm flex-col gap-2 p-4" />
    </ToastPrimitive.Provider>
  );
}
