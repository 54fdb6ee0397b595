// Applies the saved theme before first paint, so the page never flashes. A classic script
// (blocking, unlike the module bundle) from our own origin: the CSP allows no inline script.
try {
  const t = localStorage.getItem("lattice-theme");
  if (t === "dark" || (!t && matchMedia("(prefers-color-scheme: dark)").matches)) document.documentElement.classList.add("dark");
} catch {}
