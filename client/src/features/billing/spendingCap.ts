/** Reads the spending-cap field (dollars, as typed) into cents, or says what is wrong with it. */
export function parseCapDollars(text: string, maxCents: number): { cents: number } | { error: string } {
  const cleaned = text.trim().replace(/^\$/, "").replace(/,/g, "");
  if (cleaned === "" || !/^\d*\.?\d*$/.test(cleaned) || cleaned === ".") {
    return { error: /^-/.test(cleaned) ? "The cap can't be negative." : "Enter an amount in dollars, like 50 or 12.50." };
  }
  const cents = Math.round(Number(cleaned) * 100);
  if (!Number.isFinite(cents)) return { error: "Enter an amount in dollars, like 50 or 12.50." };
  if (cents > maxCents) return { error: `The highest cap you can set is ${dollars(maxCents)}.` };
  return { cents };
}

/** Whole dollars without cents ("$500"), otherwise two decimals ("$12.50"). */
export function dollars(cents: number): string {
  return cents % 100 === 0 ? `$${(cents / 100).toLocaleString("en-US")}` : `$${(cents / 100).toFixed(2)}`;
}
