import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import type { WorkerInfo } from '../api/types';
import { Badge, PageHeader, Table, Td, Th } from '../components/ui';
import { QueryState } from '../components/common';
import { useDateFormat } from '../lib/useDateFormat';

/** The pool of workers (`GET /api/workers`): health, load, labels and version of each. */
export default function WorkersPage() {
  const fmt = useDateFormat();
  const workers = useQuery({ queryKey: ['workers'], queryFn: api.workers, refetchInterval: 5000 });
  return (
    <div>
      <PageHeader title="Workers">
        The workers that run the database tools: <code>default</code> is the one at <code>worker_url</code>; the others registered
        themselves (docs/WORKER.md). A source with a worker label runs only on workers carrying that label.
      </PageHeader>
      <QueryState query={workers} what="workers">
        <Table aria-label="Workers">
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Health</Th>
              <Th>Running</Th>
              <Th>Labels</Th>
              <Th>Version</Th>
              <Th>Address</Th>
              <Th>Last heartbeat</Th>
            </tr>
          </thead>
          <tbody>
            {workers.data?.map((w: WorkerInfo) => (
              <tr key={w.id} data-testid={`worker-${w.name}`}>
                <Td className="font-medium">{w.name}</Td>
                <Td>
                  <Badge tone={w.healthy ? 'success' : 'danger'}>{w.healthy ? 'healthy' : 'unreachable'}</Badge>
                </Td>
                <Td>
                  {w.running} / {w.capacity}
                </Td>
                <Td>
                  <span className="flex flex-wrap gap-1">
                    {w.labels.length === 0 ? <span className="text-muted">any source</span> : w.labels.map((l) => <Badge key={l}>{l}</Badge>)}
                  </span>
                </Td>
                <Td className="text-xs">{w.version ?? '—'}</Td>
                <Td className="font-mono text-xs">{w.url}</Td>
                <Td className="whitespace-nowrap text-xs text-muted">{w.lastSeenAt ? fmt.dateTime(w.lastSeenAt) : '—'}</Td>
              </tr>
            ))}
          </tbody>
        </Table>
      </QueryState>
    </div>
  );
}
