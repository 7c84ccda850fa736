import { useEffect, useRef, useState } from 'react';
import { useInfiniteQuery, useQuery, useQueryClient } from '@tanstack/react-query';
import { Link, useNavigate, useParams } from 'react-router';
import { api, itemsOf } from '../api/client';
import type { Execution, ExecutionStatus } from '../api/types';
import { Badge, Button, Card, Field, PageHeader, Select, Table, Td, Th } from '../components/ui';
import { StatusBadge } from '../components/StatusBadge';
import { ConfirmButton, Empty, LoadMore, QueryState } from '../components/common';
import { useCan } from '../lib/session';
import { formatBytes, formatDuration } from '../lib/utils';
import { useDateFormat } from '../lib/useDateFormat';
import { formatMs, stageGroups } from '../lib/logStages';

const LIVE: ExecutionStatus[] = ['Pending', 'Running'];

export default function HistoryPage() {
  const { id } = useParams();
  return id ? <ExecutionDetail id={id} /> : <ExecutionList />;
}

function ExecutionList() {
  const fmt = useDateFormat();
  const [status, setStatus] = useState('');
  const [type, setType] = useState('');
  const jobs = useQuery({ queryKey: ['jobs'], queryFn: api.jobs, enabled: useCan('jobs:read'), retry: false });
  const list = useInfiniteQuery({
    queryKey: ['executions', status, type],
    queryFn: ({ pageParam }) => api.executions({ status, type, cursor: pageParam, limit: 50 }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => (Array.isArray(last) ? null : last.nextCursor),
    retry: false,
    // Live statuses: poll while anything is pending or running.
    refetchInterval: (q) =>
      q.state.data?.pages.some((p) => itemsOf(p).some((e) => LIVE.includes(e.status))) ? 1000 : 10_000,
  });
  const rows = list.data?.pages.flatMap((p) => itemsOf(p)) ?? [];
  const jobName = (e: { jobId: string | null; jobName?: string | null }) =>
    e.jobName ?? jobs.data?.find((j) => j.id === e.jobId)?.name ?? (e.jobId ? e.jobId.slice(0, 8) : '—');
  return (
    <div>
      <PageHeader title="History">Backups and restores, newest first. Running executions update live.</PageHeader>
      <div className="mb-4 flex flex-wrap gap-3">
        <Field label="Status">
          {(fid) => (
            <Select id={fid} value={status} onChange={(e) => setStatus(e.target.value)}>
              <option value="">Any</option>
              {['Pending', 'Running', 'Success', 'Failed', 'Partial', 'Cancelled'].map((s) => (
                <option key={s}>{s}</option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Type">
          {(fid) => (
            <Select id={fid} value={type} onChange={(e) => setType(e.target.value)}>
              <option value="">Any</option>
              <option>Backup</option>
              <option>Restore</option>
            </Select>
          )}
        </Field>
      </div>
      <QueryState query={list} what="the execution history">
        {rows.length === 0 ? (
          <Empty title="No executions yet" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Started</Th>
                <Th>Job</Th>
                <Th>Type</Th>
                <Th>Status</Th>
                <Th>Duration</Th>
                <Th>Size</Th>
              </tr>
            </thead>
            <tbody>
              {rows.map((e) => (
                <tr key={e.id}>
                  <Td className="whitespace-nowrap">
                    <Link className="text-primary hover:underline" to={`/history/${e.id}`}>
                      {fmt.dateTime(e.startedAt)}
                    </Link>
                  </Td>
                  <Td>{jobName(e)}</Td>
                  <Td>{e.type}</Td>
                  <Td>
                    <StatusBadge status={e.status} />
                    {e.status === 'Running' && e.progress?.percent != null && <span className="ml-2 text-xs text-muted">{Math.round(e.progress.percent)}%</span>}
                  </Td>
                  <Td>{formatDuration(e.startedAt, e.endedAt)}</Td>
                  <Td>{formatBytes(e.size)}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        <LoadMore hasMore={!!list.hasNextPage} loading={list.isFetchingNextPage} onClick={() => list.fetchNextPage()} />
      </QueryState>
    </div>
  );
}

/** Progress bar: determinate when the worker knows the percentage, else an indeterminate stripe. */
export function ProgressBar({ execution }: { execution: Execution }) {
  const p = execution.progress ?? {};
  const done = !LIVE.includes(execution.status);
  const pct = done ? 100 : p.percent ?? null;
  return (
    <div>
      <div className="mb-1 flex justify-between text-sm">
        <span>{done ? execution.status : (p.stage ?? execution.status)}</span>
        <span className="text-muted">
          {[
            p.bytesOut != null ? formatBytes(p.bytesOut) : null,
            p.rateBytesPerSec != null && !done ? `${formatBytes(p.rateBytesPerSec)}/s` : null,
            pct != null ? `${Math.round(pct)}%` : null,
          ]
            .filter(Boolean)
            .join(' · ')}
        </span>
      </div>
      <div
        role="progressbar"
        aria-label="Execution progress"
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={pct ?? undefined}
        className="h-2.5 overflow-hidden rounded-full bg-subtle"
      >
        <div
          className={`h-full rounded-full transition-all ${execution.status === 'Failed' ? 'bg-danger' : done ? 'bg-success' : 'bg-primary'} ${pct == null ? 'w-1/3 animate-pulse' : ''}`}
          style={pct != null ? { width: `${Math.max(2, Math.min(100, pct))}%` } : undefined}
        />
      </div>
    </div>
  );
}


/** What went through the data stages: the bytes the worker read, else the stored size. */
function stageBytes(e: Execution): number | null {
  const p = e.progress ?? {};
  const read = typeof p.bytesIn === 'number' ? p.bytesIn : null;
  return read ?? (typeof e.size === 'number' ? e.size : null);
}

/** One destination's read-back check after upload (`verification[]` of an execution). */
interface VerificationCheck {
  destinationId: string;
  status: 'Verified' | 'Failed' | 'Skipped';
  checkedAt: string;
  detail: string;
}

/** Per destination: was the stored object read back and found equal to what was written? */
function Verification({ checks }: { checks: VerificationCheck[] }) {
  const fmt = useDateFormat();
  const storages = useQuery({ queryKey: ['adapters', 'storage'], queryFn: () => api.adapters('storage'), retry: false });
  const name = (id: string) => itemsOf(storages.data).find((a) => a.id === id)?.name ?? id;
  const tone = (s: VerificationCheck['status']) => (s === 'Verified' ? 'success' : s === 'Failed' ? 'danger' : 'neutral');
  return (
    <Card data-testid="execution-verification">
      <h2 className="mb-2 font-semibold">Verification after upload</h2>
      <Table>
        <thead>
          <tr>
            <Th>Destination</Th>
            <Th>Result</Th>
            <Th>Checked</Th>
            <Th>Detail</Th>
          </tr>
        </thead>
        <tbody>
          {checks.map((c) => (
            <tr key={c.destinationId} data-testid="verification-row">
              <Td>{name(c.destinationId)}</Td>
              <Td>
                <Badge tone={tone(c.status)}>{c.status}</Badge>
              </Td>
              <Td>{fmt.dateTime(c.checkedAt)}</Td>
              <Td className="text-xs">{c.detail}</Td>
            </tr>
          ))}
        </tbody>
      </Table>
    </Card>
  );
}

function ExecutionDetail({ id }: { id: string }) {
  const fmt = useDateFormat();
  const navigate = useNavigate();
  const canCancel = useCan('jobs:execute');
  const exec = useQuery({
    queryKey: ['execution', id],
    queryFn: () => api.execution(id),
    retry: false,
    // Poll every second while live; stop when finished.
    refetchInterval: (q) => (q.state.data && !LIVE.includes(q.state.data.status) ? false : 1000),
  });
  const qc = useQueryClient();
  const status = exec.data?.status;
  useEffect(() => {
    // A finished execution changes the jobs' last status and the history list.
    if (status && !LIVE.includes(status)) {
      qc.invalidateQueries({ queryKey: ['jobs'] });
      qc.invalidateQueries({ queryKey: ['executions'] });
    }
  }, [status, qc]);
  const logEnd = useRef<HTMLDivElement>(null);
  const [follow, setFollow] = useState(true);
  const count = exec.data?.logs?.length ?? 0;
  useEffect(() => {
    if (follow) logEnd.current?.scrollIntoView({ block: 'nearest' });
  }, [count, follow]);
  const e = exec.data;
  return (
    <div>
      <PageHeader
        title="Execution"
        actions={
          <>
            {e && LIVE.includes(e.status) && canCancel && (
              <ConfirmButton size="md" label="Cancel" title="Cancel this execution?" description="The worker stops it and cleans up." confirmLabel="Cancel execution" onConfirm={() => api.cancelExecution(id).then(() => exec.refetch())} />
            )}
            <Button variant="secondary" onClick={() => navigate('/history')}>
              Back
            </Button>
          </>
        }
      />
      <QueryState query={exec} what="executions">
        {e && (
          <div className="space-y-4">
            <Card className="space-y-3">
              <div className="flex flex-wrap gap-x-6 gap-y-1 text-sm">
                <span>
                  <StatusBadge status={e.status} />
                </span>
                <span>{e.type}</span>
                <span>started {fmt.dateTime(e.startedAt)}</span>
                <span>duration {formatDuration(e.startedAt, e.endedAt)}</span>
                <span>size {formatBytes(e.size)}</span>
                {e.workerName && <span data-testid="execution-worker">worker {e.workerName}</span>}
                {e.path && <span className="font-mono text-xs">{e.path}</span>}
              </div>
              {e.error && (
                <p role="alert" className="text-sm text-danger">
                  {e.error}
                </p>
              )}
              <ProgressBar execution={e} />
            </Card>
            {Array.isArray(e.verification) && e.verification.length > 0 && (
              <Verification checks={e.verification as VerificationCheck[]} />
            )}
            <Card>
              <div className="mb-2 flex items-center justify-between">
                <h2 className="font-semibold">Logs</h2>
                <label className="flex items-center gap-1 text-sm">
                  <input type="checkbox" checked={follow} onChange={(x) => setFollow(x.target.checked)} /> Follow
                </label>
              </div>
              <div className="max-h-[28rem] overflow-y-auto font-mono text-xs">
                {count === 0 && <p className="text-muted">No log lines yet.</p>}
                {stageGroups(e.logs ?? [], e.endedAt, Date.now(), stageBytes(e)).map(({ stage, lines, ms, bytesPerSec }) => (
                  <details key={stage} open className="mb-2" data-testid="log-stage">
                    <summary className="cursor-pointer font-sans text-sm font-medium">
                      {stage}{' '}
                      <span className="text-muted">
                        ({[`${lines.length} ${lines.length === 1 ? 'line' : 'lines'}`, ms != null ? formatMs(ms) : null, bytesPerSec != null ? `${formatBytes(bytesPerSec)}/s` : null].filter(Boolean).join(' · ')})
                      </span>
                    </summary>
                    {lines.map((l, j) => (
                      <div key={j} className={l.level === 'error' ? 'text-danger' : l.level === 'warn' ? 'text-warn' : ''}>
                        <span className="text-muted">{fmt.time(l.timestamp)}</span> {l.message}
                      </div>
                    ))}
                  </details>
                ))}
                <div ref={logEnd} />
              </div>
            </Card>
          </div>
        )}
      </QueryState>
    </div>
  );
}
