import { useCallback } from "react";
import { useNavigate } from "react-router-dom";
import { toast } from "@/components/ui/toast";
import { describeError } from "@/lib/errors";

/** Shows an API error as a toast with its action (upgrade, retry, …) when it has one. */
export function useErrorToast() {
  const navigate = useNavigate();
  return useCallback(
    (error: unknown, retry?: () => void) => {
      const described = describeError(error);
      const action = described.action;
      toast({
        title: described.title,
        description: described.message,
        variant: "destructive",
        action:
          action?.kind === "upgrade"
            ? { label: action.label, onClick: () => navigate("/billing") }
            : action?.kind === "retry" && retry
              ? { label: action.label, onClick: retry }
              : undefined,
      });
    },
    [navigate],
  );
}
