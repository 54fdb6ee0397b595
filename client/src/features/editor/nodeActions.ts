import { createContext, useContext } from "react";

/** What a node can ask the editor to do. Passed by context, not node data, so node data stays
 * plain values and a node re-renders only when its own values change. */
export interface NodeActions {
  runNodes: (ids: string[]) => void;
  dropAsset: (nodeId: string, assetId: string, field?: string) => void;
  openMenu: (nodeId: string, at: { x: number; y: number }) => void;
  /** On a phone the canvas is view-only: no menus, no edits. */
  readOnly: boolean;
}

const noop = () => undefined;
export const NodeActionsContext = createContext<NodeActions>({ runNodes: noop, dropAsset: noop, openMenu: noop, readOnly: false });
export const useNodeActions = () => useContext(NodeActionsContext);

/** Carries a model id when a palette entry is dragged onto the canvas. */
export const MODEL_MIME = "application/x-lattice-model";
