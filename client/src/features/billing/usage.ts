/** One bar of the usage chart: a UTC calendar day ("YYYY-MM-DD") and what it cost. */
export interface DayUsage {
  day: string;
  cents: number;
}

const DAY_MS = 86_400_000;
const toDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);
const toMs = (day: string) => Date.parse(`${day}T00:00:00Z`);

/** Today as the API counts days (UTC). */
export function utcToday(now: Date = new Date()): string {
  return now.toISOString().slice(0, 10);
}

/** Every day from `start` to `today` (UTC), in order, with 0 for the days the API left out.
 * A day with usage after `today` (a clock a little behind) still gets its bar. */
export function fillDays(start: string, today: string, usage: readonly DayUsage[]): DayUsage[] {
  const byDay = new Map<string, number>();
  for (const u of usage) byDay.set(u.day, (byDay.get(u.day) ?? 0) + u.cents);
  const first = toMs(start);
  const last = Math.max(toMs(today), ...usage.map((u) => toMs(u.day)), first);
  const days: DayUsage[] = [];
  for (let ms = first; ms <= last; ms += DAY_MS) {
    const day = toDay(ms);
    days.push({ day, cents: byDay.get(day) ?? 0 });
  }
  return days;
}
