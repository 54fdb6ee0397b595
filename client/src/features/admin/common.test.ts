import { dollars, parseDollars } from "./common";

describe("admin amounts", () => {
  it("reads what an operator types as cents, refusing what is not an amount", () => {
    expect(parseDollars("12.5")).toBe(1250);
    expect(parseDollars("$3")).toBe(300);
    expect(parseDollars("-0.75")).toBe(-75);
    expect(parseDollars("−2.00")).toBe(-200);
    expect(parseDollars("1.234")).toBeNull();
    expect(parseDollars("ten")).toBeNull();
    expect(parseDollars("")).toBeNull();
  });

  it("writes grants and adjustments with their sign", () => {
    expect(dollars(1250, true)).toBe("+$12.50");
    expect(dollars(-75, true)).toBe("−$0.75");
    expect(dollars(0)).toBe("$0.00");
    expect(dollars(1_000_000)).toBe("$10,000.00");
  });
});
