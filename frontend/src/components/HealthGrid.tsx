/** The recent health checks of an adapter as a row of coloured cells with tooltips. */
import { useRef, useState } from 'react';
import { createPortal } from 'react-dom';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import type { HealthCheck } from '../api/types';
import { cn } from '../lib/utils';
import { gridKeyTarget, healthCells, uptimePercent, type HealthTone } from '../lib/pickers';
import { useDateFormat, type DateFormatter } from '../lib/useDateFormat';

const TONE: Record<HealthTone, string> = {
  ok: 'bg-green-500 dark:bg-green-500',
  warn: 'bg-amber-400 dark:bg-amber-500',
  bad: 'bg-red-500 dark:bg-red-500',
  unknown: 'bg-slate-300 dark:bg-slate-600',
};

/** The text of one check: state, time, latency, message. */
export function checkLabel(c: HealthCheck, fmt: DateFormatter): string {
  const parts = [`${(c.status ?? 'unknown').toLowerCase()} at ${fmt.dateTime(c.createdAt)}`];
  if (c.latencyMs !== null && c.latencyMs !== undefined) parts.push(`${c.latencyMs} ms`);
  if (c.error) parts.push(c.error);
  return parts.join(' · ');
}

/**
 * The newest `count` checks (`GET /api/adapters/{id}/health`), oldest left. One tab stop: the
 * arrow keys, Home and End move between checks; hover or focus shows the check's details.
 */
export function HealthGrid({ adapterId, name, count = 24 }: { adapterId: string; name: string; count?: number }) {
  const fmt = useDateFormat();
  const q = useQuery({
    queryKey: ['adapter-health', adapterId],
    // The last day only: the server keeps 48 h, up to one check per runner tick.
    queryFn: () => api.adapterHealth(adapterId, { from: new Date(Date.now() - 86_400_000).toISOString() }),
    retry: false,
    refetchInterval: 60_000,
  });
  const [active, setActive] = useState<number | null>(null);
  const [focusIndex, setFocusIndex] = useState<number | null>(null);
  const [rect, setRect] = useState<DOMRect | null>(null);
  const cellsRef = useRef<(HTMLButtonElement | null)[]>([]);
  if (q.isPending) return <span className="text-xs text-muted">…</span>;
  if (q.error) return <span className="text-xs text-muted" title={(q.error as Error).message}>no history</span>;
  const cells = healthCells(q.data.entries, count);
  if (!cells.length)
    return (
      <span className="text-xs text-muted" data-testid="health-grid-empty">
        no checks yet
      </span>
    );
  const tabStop = focusIndex ?? cells.length - 1;
  const show = (i: number | null, el?: HTMLElement | null) => {
    setActive(i);
    setRect(i !== null && el ? el.getBoundingClientRect() : null);
  };
  const tipId = `health-tip-${adapterId}`;
  const uptime = uptimePercent(q.data.entries);
  return (
    <div className="flex items-center gap-2">
      <div
        role="group"
        aria-label={`Health history of ${name}: last ${cells.length} checks`}
        data-testid="health-grid"
        className="flex items-end gap-0.5"
        onMouseLeave={() => show(null)}
      >
        {cells.map((c, i) => (
          <button
            key={`${c.check.createdAt}-${i}`}
            ref={(el) => {
              cellsRef.current[i] = el;
            }}
            type="button"
            tabIndex={i === tabStop ? 0 : -1}
            aria-label={checkLabel(c.check, fmt)}
            aria-describedby={active === i ? tipId : undefined}
            data-status={c.check.status ?? 'unknown'}
            className={cn('h-5 w-2 rounded-sm focus-visible:outline-offset-1', TONE[c.tone], active === i && 'ring-2 ring-fg/40')}
            onMouseEnter={(e) => show(i, e.currentTarget)}
            onFocus={(e) => {
              setFocusIndex(i);
              show(i, e.currentTarget);
            }}
            onBlur={() => show(null)}
            onKeyDown={(e) => {
              if (e.key === 'Escape') return show(null);
              const to = gridKeyTarget(e.key, i, cells.length);
              if (to === null) return;
              e.preventDefault();
              cellsRef.current[to]?.focus();
            }}
          />
        ))}
      </div>
      {uptime !== null && (
        <span className="text-xs text-muted" title="Share of online checks in the last 24 hours">
          {uptime}%
        </span>
      )}
      {active !== null &&
        rect &&
        cells[active] &&
        createPortal(
          <div
            id={tipId}
            role="tooltip"
            data-testid="health-tooltip"
            className="pointer-events-none fixed z-50 max-w-xs rounded-md border border-border bg-card px-2.5 py-1.5 text-xs text-fg shadow-lg"
            style={{ top: rect.bottom + 6, left: Math.max(8, Math.min(rect.left - 80, window.innerWidth - 300)) }}
          >
            <p className="font-medium">{(cells[active].check.status ?? 'unknown').toLowerCase()}</p>
            <p>{fmt.dateTime(cells[active].check.createdAt)}</p>
            {cells[active].check.latencyMs !== null && <p>{cells[active].check.latencyMs} ms</p>}
            {cells[active].check.error && <p className="text-danger">{cells[active].check.error}</p>}
          </div>,
          document.body,
        )}
    </div>
  );
}
