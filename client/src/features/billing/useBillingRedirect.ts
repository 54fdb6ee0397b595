import { useState } from "react";
import { useMutation } from "@apollo/client";
import { OpenPortalMutation, StartCheckoutMutation } from "@/graphql/documents";
import { useErrorToast } from "@/lib/useErrorToast";

/** Opens Stripe (Checkout, or the billing portal) in this tab. `busy` stays on from the click
 * until the browser leaves, so the button keeps its spinner while Stripe's page loads. */
export function useBillingRedirect(target: "checkout" | "portal") {
  const showError = useErrorToast();
  const [startCheckout] = useMutation(StartCheckoutMutation);
  const [openPortal] = useMutation(OpenPortalMutation);
  const [busy, setBusy] = useState(false);
  const open = async () => {
    setBusy(true);
    try {
      const { data } = target === "checkout" ? await startCheckout() : await openPortal();
      const url = data && ("startCheckout" in data ? data.startCheckout.url : data.openBillingPortal.url);
      if (!url) throw new Error("Stripe did not return a page to open");
      window.location.assign(url);
    } catch (error) {
      setBusy(false);
      showError(error, () => void open());
    }
  };
  return { open, busy };
}
