import { fillDays, utcToday } from "./usage";
import { parseCapDollars } from "./spendingCap";

describe("fillDays", () => {
  it("gives every day from the period's start to today a bar, 0 where nothing was used", () => {
    const days = fillDays("2030-03-01", "2030-03-05", [
      { day: "2030-03-02", cents: 120 },
      { day: "2030-03-04", cents: 7 },
    ]);
    expect(days).toEqual([
      { day: "2030-03-01", cents: 0 },
      { day: "2030-03-02", cents: 120 },
      { day: "2030-03-03", cents: 0 },
      { day: "2030-03-04", cents: 7 },
      { day: "2030-03-05", cents: 0 },
    ]);
  });

  it("crosses month ends and leap days, and keeps a day the clock has not reached yet", () => {
    const days = fillDays("2028-02-28", "2028-03-01", [{ day: "2028-03-02", cents: 5 }]);
    expect(days.map((d) => d.day)).toEqual(["2028-02-28", "2028-02-29", "2028-03-01", "2028-03-02"]);
    expect(days.at(-1)?.cents).toBe(5);
  });

  it("shows the first day alone on the first day of the period", () => {
    expect(fillDays("2030-03-01", "2030-03-01", [])).toEqual([{ day: "2030-03-01", cents: 0 }]);
  });

  it("counts days in UTC", () => {
    expect(utcToday(new Date("2030-03-31T23:30:00-05:00"))).toBe("2030-04-01");
  });
});

describe("parseCapDollars", () => {
  it.each([
    ["50", 5000],
    ["$12.50", 1250],
    ["1,000", 100000],
    ["0", 0],
    ["  7.5 ", 750],
  ])("reads %j as %i cents", (text, cents) => {
    expect(parseCapDollars(text, 200000)).toEqual({ cents });
  });

  it.each([
    ["", "Enter an amount"],
    ["abc", "Enter an amount"],
    ["-5", "can't be negative"],
    ["1e3", "Enter an amount"],
    ["501", "The highest cap you can set is $500."],
  ])("refuses %j", (text, message) => {
    const parsed = parseCapDollars(text, 50000);
    expect("error" in parsed && parsed.error).toContain(message);
  });
});
