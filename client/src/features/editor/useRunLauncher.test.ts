import { act, renderHook } from "@testing-library/react";
import { useRunLauncher } from "./useRunLauncher";

function deferred<T>() {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => { resolve = r; });
  return { promise, resolve };
}

describe("useRunLauncher", () => {
  it("starts one run when the user presses Run twice during the pre-run save", async () => {
    const saving = deferred<boolean>();
    const start = vi.fn().mockResolvedValue({ id: "r1" });
    const { result } = renderHook(() => useRunLauncher({ save: () => saving.promise, start, onUnsaved: vi.fn(), onError: vi.fn() }));
    let first!: Promise<void>;
    let second!: Promise<void>;
    act(() => { first = result.current.run(); });
    expect(result.current.launching).toBe(true);
    act(() => { second = result.current.run(); });
    await act(async () => { saving.resolve(true); await Promise.all([first, second]); });
    expect(start).toHaveBeenCalledTimes(1);
    expect(result.current.launching).toBe(false);
  });

  it("retries an action with the key minted when the user acted", async () => {
    const start = vi.fn().mockRejectedValueOnce(new Error("network")).mockResolvedValueOnce({ id: "r1" });
    let retry: (() => void) | null = null;
    const { result } = renderHook(() => useRunLauncher({
      save: () => Promise.resolve(true), start, onUnsaved: vi.fn(), onError: (_e, again) => { retry = again; },
    }));
    await act(() => result.current.run(["n1"]));
    expect(retry).not.toBeNull();
    await act(async () => { retry!(); await Promise.resolve(); });
    await vi.waitFor(() => expect(start).toHaveBeenCalledTimes(2));
    const [firstKey, firstTargets] = start.mock.calls[0]!;
    const [retryKey, retryTargets] = start.mock.calls[1]!;
    expect(retryKey).toBe(firstKey);
    expect(retryTargets).toEqual(firstTargets);
  });

  it("mints a new key for a new action", async () => {
    const start = vi.fn().mockResolvedValue({});
    const { result } = renderHook(() => useRunLauncher({ save: () => Promise.resolve(true), start, onUnsaved: vi.fn(), onError: vi.fn() }));
    await act(() => result.current.run());
    await act(() => result.current.run());
    expect(start.mock.calls[0]![0]).not.toBe(start.mock.calls[1]![0]);
  });

  it("does not start when the graph cannot be saved", async () => {
    const start = vi.fn();
    const onUnsaved = vi.fn();
    const { result } = renderHook(() => useRunLauncher({ save: () => Promise.resolve(false), start, onUnsaved, onError: vi.fn() }));
    await act(() => result.current.run());
    expect(start).not.toHaveBeenCalled();
    expect(onUnsaved).toHaveBeenCalledOnce();
  });
});
