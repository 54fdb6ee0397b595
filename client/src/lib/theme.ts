import { useCallback, useState } from "react";

export function useTheme(): [dark: boolean, toggle: () => void] {
  const [dark, setDark] = useState(() => document.documentElement.classList.contains("dark"));
  const toggle = useCallback(() => {
    const next = !document.documentElement.classList.contains("dark");
    document.documentElement.classList.toggle("dark", next);
    localStorage.setItem("lattice-theme", next ? "dark" : "light");
    setDark(next);
  }, []);
  return [dark, toggle];
}
