import { lazy, Suspense, useEffect, useMemo, useState } from "react";
import { ApolloProvider } from "@apollo/client";
import { BrowserRouter, Navigate, Route, Routes } from "react-router-dom";
import { createApolloClient } from "@/lib/apollo";
import { hasSession, onSessionChange } from "@/lib/session";
import { Toaster } from "@/components/ui/toast";
import { AppShell } from "@/components/layout/AppShell";
import { PageSkeleton } from "@/components/layout/PageSkeleton";
import { EditorSkeleton } from "@/features/editor/EditorSkeleton";
import { GallerySkeleton } from "@/features/gallery/GallerySkeleton";
import { RunsSkeleton } from "@/features/runs/RunsSkeleton";
import { WorkflowsPage } from "@/features/workflows/WorkflowsPage";

// Everything but the dashboard's first screen loads on demand; the editor brings React Flow.
const SignInPage = lazy(() => import("@/features/auth/SignInPage"));
const EditorPage = lazy(() => import("@/features/editor/EditorPage"));
const GalleryPage = lazy(() => import("@/features/gallery/GalleryPage"));
const RunsPage = lazy(() => import("@/features/runs/RunsPage"));
const LorasPage = lazy(() => import("@/features/loras/LorasPage"));
const BillingPage = lazy(() => import("@/features/billing/BillingPage"));
const AdminPage = lazy(() => import("@/features/admin/AdminPage"));
const ApiKeysPage = lazy(() => import("@/features/apikeys/ApiKeysPage"));

function useSignedIn(): boolean | null {
  const [signedIn, setSignedIn] = useState<boolean | null>(null);
  useEffect(() => {
    void hasSession().then(setSignedIn);
    return onSessionChange(setSignedIn);
  }, []);
  return signedIn;
}

export function App() {
  const client = useMemo(() => createApolloClient(), []);
  const signedIn = useSignedIn();
  useEffect(() => {
    // A different user may sign in next: never show them the last one's cache.
    if (signedIn === false) void client.clearStore();
  }, [signedIn, client]);

  return (
    <ApolloProvider client={client}>
        <BrowserRouter>
          {signedIn === null ? (
            <PageSkeleton />
          ) : !signedIn ? (
            <Lazy><SignInPage /></Lazy>
          ) : (
            <Routes>
              <Route element={<AppShell />}>
                <Route index element={<Navigate to="/workflows" replace />} />
                <Route path="workflows" element={<WorkflowsPage />} />
                <Route path="workflows/:id" element={<Lazy fallback={<EditorSkeleton />}><EditorPage /></Lazy>} />
                <Route path="gallery" element={<Lazy fallback={<GallerySkeleton />}><GalleryPage /></Lazy>} />
                <Route path="runs" element={<Lazy fallback={<RunsSkeleton />}><RunsPage /></Lazy>} />
                <Route path="loras" element={<Lazy><LorasPage /></Lazy>} />
                <Route path="billing" element={<Lazy><BillingPage /></Lazy>} />
                <Route path="api-keys" element={<Lazy><ApiKeysPage /></Lazy>} />
                <Route path="admin/*" element={<Lazy><AdminPage /></Lazy>} />
                <Route path="*" element={<Navigate to="/workflows" replace />} />
              </Route>
            </Routes>
          )}
        </BrowserRouter>
        <Toaster />
    </ApolloProvider>
  );
}

/** A page's code loading: its own skeleton when it has one, so nothing jumps when it arrives. */
function Lazy({ children, fallback }: { children: React.ReactNode; fallback?: React.ReactNode }) {
  return <Suspense fallback={fallback ?? <PageSkeleton />}>{children}</Suspense>;
}
