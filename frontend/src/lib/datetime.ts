/**
 * Dates as the user wants them: the profile's time zone, date format and time format
 * (date-fns tokens, `P`/`p` by default). Pure functions; `useDateFormat` wraps them for pages.
 */
import { format } from 'date-fns';
import { tz } from '@date-fns/tz';

/** The profile fields that shape every date the UI shows. */
export interface DatePrefs {
  /** IANA name; empty or unknown: the browser's zone. */
  timezone: string;
  dateFormat: string;
  timeFormat: string;
}

export const DEFAULT_PREFS: DatePrefs = { timezone: '', dateFormat: 'P', timeFormat: 'p' };

/** Date formats offered in Profile (date-fns tokens); any other pattern can be typed. */
export const DATE_FORMATS: { value: string; label: string }[] = [
  { value: 'P', label: 'Locale short (P)' },
  { value: 'PP', label: 'Locale medium (PP)' },
  { value: 'yyyy-MM-dd', label: 'ISO (yyyy-MM-dd)' },
  { value: 'dd.MM.yyyy', label: 'dd.MM.yyyy' },
  { value: 'dd/MM/yyyy', label: 'dd/MM/yyyy' },
  { value: 'MM/dd/yyyy', label: 'MM/dd/yyyy' },
  { value: 'd MMM yyyy', label: 'd MMM yyyy' },
];

export const TIME_FORMATS: { value: string; label: string }[] = [
  { value: 'p', label: 'Locale (p)' },
  { value: 'HH:mm', label: '24 hours (HH:mm)' },
  { value: 'HH:mm:ss', label: '24 h with seconds (HH:mm:ss)' },
  { value: 'h:mm a', label: '12 hours (h:mm a)' },
];

/** Whether `zone` is a time zone this browser knows. */
export function isKnownZone(zone: string): boolean {
  if (!zone) return false;
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: zone });
    return true;
  } catch {
    return false;
  }
}

/** Why `pattern` is not a usable date-fns pattern, or null when it is. */
export function formatPatternError(pattern: string): string | null {
  if (!pattern.trim()) return 'Enter a format';
  if (pattern.length > 64) return 'At most 64 characters';
  try {
    format(new Date(Date.UTC(2026, 0, 31, 13, 5, 9)), pattern);
    return null;
  } catch (e) {
    return (e as Error).message.replace(/\s*See: https?:\S+/, '').trim() || 'Invalid format';
  }
}

/** The parts of a timestamp to show. */
export type DatePart = 'datetime' | 'date' | 'time';

/** Prefs checked once: a known zone (or undefined: the browser's) and usable patterns. */
export interface ResolvedPrefs {
  zone: string | undefined;
  date: string;
  time: string;
}

/** Checks `prefs` once; an unusable pattern or zone falls back to the default. */
export function resolvePrefs(prefs: DatePrefs): ResolvedPrefs {
  const usable = (pattern: string | undefined, fallback: string) =>
    pattern && formatPatternError(pattern) === null ? pattern : fallback;
  return {
    zone: isKnownZone(prefs.timezone) ? prefs.timezone : undefined,
    date: usable(prefs.dateFormat, DEFAULT_PREFS.dateFormat),
    time: usable(prefs.timeFormat, DEFAULT_PREFS.timeFormat),
  };
}

/**
 * `iso` in the user's zone and formats ("—" when absent, the raw text when unparseable). An
 * unusable pattern or zone falls back to the defaults instead of failing the page.
 */
export function formatInstant(
  iso: string | number | Date | null | undefined,
  prefs: DatePrefs | ResolvedPrefs,
  part: DatePart = 'datetime',
): string {
  if (iso === null || iso === undefined || iso === '') return '—';
  const d = iso instanceof Date ? iso : new Date(iso);
  if (Number.isNaN(d.getTime())) return String(iso);
  const r = 'date' in prefs ? prefs : resolvePrefs(prefs);
  const pattern = part === 'date' ? r.date : part === 'time' ? r.time : `${r.date} ${r.time}`;
  return format(d, pattern, r.zone ? { in: tz(r.zone) } : undefined);
}

/** The short name of the zone at `at` ("UTC", "CET", "GMT+9"), for labels. */
export function zoneLabel(zone: string, at: Date = new Date()): string {
  try {
    const parts = new Intl.DateTimeFormat('en-US', { timeZone: isKnownZone(zone) ? zone : undefined, timeZoneName: 'short' }).formatToParts(at);
    return parts.find((p) => p.type === 'timeZoneName')?.value ?? zone;
  } catch {
    return zone;
  }
}

/** Every IANA zone the browser knows (`UTC` first), or just `UTC`. */
export function timeZones(): string[] {
  try {
    const all = (Intl as unknown as { supportedValuesOf(k: string): string[] }).supportedValuesOf('timeZone');
    return ['UTC', ...all.filter((z) => z !== 'UTC')];
  } catch {
    return ['UTC'];
  }
}
