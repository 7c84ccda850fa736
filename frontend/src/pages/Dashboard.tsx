import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { api, ApiError, itemsOf } from '../api/client';
import type { Execution } from '../api/types';
import { Badge, Card, PageHeader } from '../components/ui';
import { ErrorAlert } from '../components/common';
import { useSession } from '../lib/session';
import { useDateFormat } from '../lib/useDateFormat';
import { StatusBadge } from '../components/StatusBadge';

/**
 * A count from the same query (and cache key) as the list page, so changes made there show here;
 * skipped without the permission and hidden when its API is missing.
 */
function useCount(key: unknown[], enabled: boolean, fn: () => Promise<unknown[]>) {
  return useQuery({ queryKey: key, queryFn: fn, enabled, retry: false });
}

function Stat({ label, q, to }: { label: string; q: ReturnType<typeof useCount>; to: string }) {
  if (q.error instanceof ApiError && q.error.notAvailable) return null;
  if (q.fetchStatus === 'idle' && q.isPending) return null; // not permitted
  return (
    <Link to={to} className="block">
      <Card className="hover:border-primary">
        <p className="text-sm text-muted">{label}</p>
        <p className="mt-1 text-3xl font-semibold" data-testid={`count-${label.toLowerCase().replace(/\W+/g, '-')}`}>
          {q.isPending ? '…' : q.error ? '!' : (q.data?.length ?? 0)}
        </p>
      </Card>
    </Link>
  );
}

/** Success/failure per day over the executions given, as a small accessible SVG bar chart. */
function OutcomeChart({ executions }: { executions: Execution[] }) {
  const fmt = useDateFormat();
  const days = new Map<string, { ok: number; failed: number }>();
  for (let i = 13; i >= 0; i--) {
    const d = new Date(Date.now() - i * 86_400_000).toISOString().slice(0, 10);
    days.set(d, { ok: 0, failed: 0 });
  }
  for (const e of executions) {
    const d = (e.startedAt ?? '').slice(0, 10);
    const slot = days.get(d);
    if (!slot) continue;
    if (e.status === 'Success') slot.ok++;
    else if (e.status === 'Failed' || e.status === 'Partial') slot.failed++;
  }
  const entries = [...days.entries()];
  const max = Math.max(1, ...entries.map(([, v]) => v.ok + v.failed));
  const w = 14 * 20;
  return (
    <svg viewBox={`0 0 ${w} 80`} className="h-24 w-full" role="img" aria-label="Successful and failed executions per day, last 14 days">
      {entries.map(([day, v], i) => {
        const hOk = (v.ok / max) * 70;
        const hFail = (v.failed / max) * 70;
        return (
          <g key={day}>
            <title>{`${fmt.date(`${day}T12:00:00Z`)}: ${v.ok} succeeded, ${v.failed} failed`}</title>
            <rect x={i * 20 + 3} y={78 - hOk} width={14} height={hOk} className="fill-success" />
            <rect x={i * 20 + 3} y={78 - hOk - hFail} width={14} height={hFail} className="fill-danger" />
            <rect x={i * 20 + 3} y={78} width={14} height={1} className="fill-border" />
          </g>
        );
      })}
    </svg>
  );
}

export function DashboardPage() {
  const fmt = useDateFormat();
  const s = useSession();
  const can = (p: string) => s.permissions.includes(p as never);
  const health = useQuery({ queryKey: ['health'], queryFn: api.health, refetchInterval: 30_000 });
  const users = useCount(['users'], can('users:read'), api.users);
  const groups = useCount(['groups'], can('groups:read'), api.groups);
  const keys = useCount(['api-keys'], can('api-keys:read'), api.apiKeys);
  const sources = useCount(['adapters', 'database'], can('sources:read'), () => api.adapters('database'));
  const dests = useCount(['adapters', 'storage'], can('destinations:read'), () => api.adapters('storage'));
  const jobs = useQuery({ queryKey: ['jobs'], queryFn: api.jobs, enabled: can('jobs:read'), retry: false });
  const execs = useQuery({
    queryKey: ['executions', 'dashboard'],
    queryFn: () => api.executions({ limit: 200 }),
    enabled: can('history:read'),
    retry: false,
    refetchInterval: 10_000,
  });
  const executions = itemsOf(execs.data);
  const upcoming = (jobs.data ?? [])
    .filter((j) => j.enabled !== false && j.nextRunAt)
    .sort((a, b) => String(a.nextRunAt).localeCompare(String(b.nextRunAt)))
    .slice(0, 5);
  const h = health.data;
  return (
    <div>
      <PageHeader title="Dashboard">Welcome back, {s.user.name}.</PageHeader>
      <div className="grid grid-cols-2 gap-3 md:grid-cols-3 lg:grid-cols-6">
        <Card>
          <p className="text-sm text-muted">System</p>
          {health.error ? (
            <ErrorAlert error={health.error} />
          ) : (
            <>
              <p className="mt-1 text-xl font-semibold" data-testid="health-status">
                {h ? (h.status === 'ok' ? 'Healthy' : 'Degraded') : '…'}
              </p>
              {h && (
                <p className="mt-1 text-xs text-muted">
                  database {h.database} · worker {h.worker} · v{h.version}
                </p>
              )}
            </>
          )}
        </Card>
        <Stat label="Users" q={users} to="/users" />
        <Stat label="Groups" q={groups} to="/users" />
        <Stat label="API keys" q={keys} to="/api-keys" />
        <Stat label="Sources" q={sources} to="/sources" />
        <Stat label="Destinations" q={dests} to="/destinations" />
      </div>

      {execs.data && (
        <div className="mt-6 grid gap-4 lg:grid-cols-2">
          <Card>
            <h2 className="mb-2 font-semibold">Executions, last 14 days</h2>
            <OutcomeChart executions={executions} />
          </Card>
          <Card>
            <h2 className="mb-2 font-semibold">Recent executions</h2>
            {executions.length === 0 ? (
              <p className="text-sm text-muted">No executions yet.</p>
            ) : (
              <ul className="divide-y divide-border text-sm">
                {executions.slice(0, 6).map((e) => (
                  <li key={e.id} className="flex items-center justify-between py-1.5">
                    <Link to={`/history/${e.id}`} className="hover:underline">
                      {e.type} · {fmt.dateTime(e.startedAt)}
                    </Link>
                    <StatusBadge status={e.status} />
                  </li>
                ))}
              </ul>
            )}
          </Card>
        </div>
      )}
      {jobs.data && (
        <Card className="mt-4">
          <h2 className="mb-2 font-semibold">Upcoming runs</h2>
          {upcoming.length === 0 ? (
            <p className="text-sm text-muted">No scheduled runs.</p>
          ) : (
            <ul className="divide-y divide-border text-sm">
              {upcoming.map((j) => (
                <li key={j.id} className="flex justify-between py-1.5">
                  <span>{j.name}</span>
                  <Badge tone="info">{fmt.dateTime(j.nextRunAt)}</Badge>
                </li>
              ))}
            </ul>
          )}
        </Card>
      )}
    </div>
  );
}
