import { useCallback, useRef, useState } from "react";

/** A value with undo and redo. `replace` changes it without a history entry (a load). */
export function useHistory<T>(initial: T) {
  const [state, setState] = useState({ past: [] as T[], present: initial, future: [] as T[] });
  const limit = useRef(100);
  const set = useCallback((next: T | ((current: T) => T)) => {
    setState((s) => {
      const value = typeof next === "function" ? (next as (c: T) => T)(s.present) : next;
      if (value === s.present) return s;
      return { past: [...s.past.slice(-limit.current), s.present], present: value, future: [] };
    });
  }, []);
  const replace = useCallback((value: T) => setState({ past: [], present: value, future: [] }), []);
  const undo = useCallback(() => setState((s) => (s.past.length ? { past: s.past.slice(0, -1), present: s.past[s.past.length - 1]!, future: [s.present, ...s.future] } : s)), []);
  const redo = useCallback(() => setState((s) => (s.future.length ? { past: [...s.past, s.present], present: s.future[0]!, future: s.future.slice(1) } : s)), []);
  return { value: state.present, set, replace, undo, redo, canUndo: state.past.length > 0, canRedo: state.future.length > 0 };
}
