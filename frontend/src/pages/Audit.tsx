import { useState } from 'react';
import { useInfiniteQuery, useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import type { AuditFilter } from '../api/types';
import { Badge, Button, Field, Input, PageHeader, Select, Table, Td, Th } from '../components/ui';
import { Empty, LoadMore, QueryState } from '../components/common';
import { useCan } from '../lib/session';
import { useDateFormat } from '../lib/useDateFormat';

const ACTIONS = ['LOGIN', 'LOGIN_FAILED', 'LOGOUT', 'CREATE', 'UPDATE', 'DELETE', 'EXECUTE', 'RESTORE', 'REVEAL', 'EXPORT'];
const RESOURCES = ['AUTH', 'USER', 'GROUP', 'SESSION', 'API_KEY', 'TWO_FACTOR', 'PROFILE', 'SETTINGS', 'ADAPTER', 'JOB', 'EXECUTION', 'ENCRYPTION_PROFILE', 'STORAGE'];

function tone(action: string) {
  if (action === 'DELETE' || action === 'LOGIN_FAILED') return 'danger' as const;
  if (action === 'CREATE') return 'success' as const;
  if (action === 'UPDATE') return 'info' as const;
  return 'neutral' as const;
}

export default function AuditPage() {
  const fmt = useDateFormat();
  const [draft, setDraft] = useState<AuditFilter>({});
  const [filter, setFilter] = useState<AuditFilter>({});
  const users = useQuery({ queryKey: ['users'], queryFn: api.users, enabled: useCan('users:read') });
  const audit = useInfiniteQuery({
    queryKey: ['audit', filter],
    queryFn: ({ pageParam }) => api.audit({ ...filter, cursor: pageParam, limit: 50 }),
    initialPageParam: null as string | null,
    getNextPageParam: (last) => last.nextCursor,
  });
  const rows = audit.data?.pages.flatMap((p) => p.items) ?? [];
  const set = (k: keyof AuditFilter) => (e: { target: { value: string } }) => setDraft({ ...draft, [k]: e.target.value || undefined });
  return (
    <div>
      <PageHeader title="Audit log">Who did what, newest first.</PageHeader>
      <form
        className="mb-4 grid grid-cols-2 items-end gap-3 md:grid-cols-6"
        onSubmit={(e) => {
          e.preventDefault();
          setFilter(draft);
        }}
        aria-label="Filters"
      >
        <Field label="Action">
          {(id) => (
            <Select id={id} value={draft.action ?? ''} onChange={set('action')}>
              <option value="">Any</option>
              {ACTIONS.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="Resource">
          {(id) => (
            <Select id={id} value={draft.resource ?? ''} onChange={set('resource')}>
              <option value="">Any</option>
              {RESOURCES.map((a) => (
                <option key={a}>{a}</option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="User">
          {(id) => (
            <Select id={id} value={draft.userId ?? ''} onChange={set('userId')}>
              <option value="">Anyone</option>
              {users.data?.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <Field label="From">{(id) => <Input id={id} type="date" value={draft.from ?? ''} onChange={set('from')} />}</Field>
        <Field label="To">{(id) => <Input id={id} type="date" value={draft.to ?? ''} onChange={set('to')} />}</Field>
        <div className="flex gap-2">
          <Button type="submit">Apply</Button>
          <Button
            variant="secondary"
            onClick={() => {
              setDraft({});
              setFilter({});
            }}
          >
            Clear
          </Button>
        </div>
      </form>
      <QueryState query={audit} what="the audit log">
        {rows.length === 0 ? (
          <Empty title="No audit entries match" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>When</Th>
                <Th>User</Th>
                <Th>Action</Th>
                <Th>Resource</Th>
                <Th>Details</Th>
                <Th>From</Th>
              </tr>
            </thead>
            <tbody>
              {rows.map((r) => (
                <tr key={r.id} data-testid="audit-row">
                  <Td className="whitespace-nowrap">{fmt.dateTime(r.createdAt)}</Td>
                  <Td>{r.userName ?? r.userEmail ?? <span className="text-muted">—</span>}</Td>
                  <Td>
                    <Badge tone={tone(r.action)}>{r.action}</Badge>
                  </Td>
                  <Td className="whitespace-nowrap">{r.resource}</Td>
                  <Td>
                    {r.details ? (
                      <code className="block max-w-md truncate font-mono text-xs" title={JSON.stringify(r.details, null, 2)}>
                        {JSON.stringify(r.details)}
                      </code>
                    ) : null}
                  </Td>
                  <Td className="whitespace-nowrap text-xs text-muted">{r.ipAddress ?? ''}</Td>
                </tr>
              ))}
            </tbody>
          </Table>
        )}
        <LoadMore hasMore={!!audit.hasNextPage} loading={audit.isFetchingNextPage} onClick={() => audit.fetchNextPage()} />
      </QueryState>
    </div>
  );
}
