import { useContext, useMemo } from 'react';
import { SessionContext } from './session';
import { DEFAULT_PREFS, formatInstant, resolvePrefs, type DatePart, type DatePrefs } from './datetime';

/** Formats timestamps for display. */
export interface DateFormatter {
  /** Date and time. */
  dateTime: (iso: string | number | Date | null | undefined) => string;
  date: (iso: string | number | Date | null | undefined) => string;
  time: (iso: string | number | Date | null | undefined) => string;
  prefs: DatePrefs;
}

/**
 * THE way the UI renders a timestamp: in the signed-in user's time zone, date format and time
 * format (Profile); the browser's zone and locale formats outside a session.
 */
export function useDateFormat(): DateFormatter {
  const s = useContext(SessionContext);
  const tz = s?.user.timezone ?? DEFAULT_PREFS.timezone;
  const df = s?.user.dateFormat || DEFAULT_PREFS.dateFormat;
  const tf = s?.user.timeFormat || DEFAULT_PREFS.timeFormat;
  return useMemo(() => {
    const prefs = { timezone: tz, dateFormat: df, timeFormat: tf };
    const resolved = resolvePrefs(prefs);
    const f = (part: DatePart) => (iso: string | number | Date | null | undefined) => formatInstant(iso, resolved, part);
    return { dateTime: f('datetime'), date: f('date'), time: f('time'), prefs };
  }, [tz, df, tf]);
}
