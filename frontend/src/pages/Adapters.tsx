import { useMemo, useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api, ApiError } from '../api/client';
import type { Adapter, AdapterKind, AdapterTestResult, AdapterType } from '../api/types';
import { Badge, Button, Dialog, Field, Input, PageHeader, Select, Table, Td, Th } from '../components/ui';
import { SchemaInput } from '../components/SchemaFields';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { useCan } from '../lib/session';
import { fieldsOf, initialValues, secretsToReenter, toConfig, type FormValues } from '../lib/schemaForm';
import { HealthGrid } from '../components/HealthGrid';
import { DatabaseList } from '../components/pickers';
import { useDateFormat } from '../lib/useDateFormat';

const META: Record<AdapterKind, { title: string; one: string; perm: string; blurb: string }> = {
  database: { title: 'Sources', one: 'source', perm: 'sources', blurb: 'Databases to back up.' },
  storage: { title: 'Destinations', one: 'destination', perm: 'destinations', blurb: 'Where backups are stored.' },
  notification: { title: 'Notifications', one: 'notification channel', perm: 'notifications', blurb: 'Where job results are sent.' },
};

export function HealthBadge({ status }: { status?: string | null }) {
  if (!status) return <Badge>unknown</Badge>;
  const tone = status === 'ONLINE' ? 'success' : status === 'DEGRADED' ? 'warn' : status === 'OFFLINE' ? 'danger' : 'neutral';
  return <Badge tone={tone}>{status.toLowerCase()}</Badge>;
}

export function TestResult({ result }: { result: AdapterTestResult }) {
  return (
    <div
      role="status"
      data-testid="test-result"
      className={`rounded-md border px-3 py-2 text-sm ${result.ok ? 'border-green-300 bg-green-50 text-green-900 dark:border-green-800 dark:bg-green-950/40 dark:text-green-200' : 'border-red-300 bg-red-50 text-red-900 dark:border-red-800 dark:bg-red-950/40 dark:text-red-200'}`}
    >
      <strong>{result.ok ? 'Connected' : 'Failed'}</strong> · {result.latencyMs} ms{result.version ? ` · ${result.version}` : ''}
      <p className="mt-0.5 text-xs">{result.message}</p>
    </div>
  );
}

export default function AdaptersPage({ kind }: { kind: AdapterKind }) {
  const fmt = useDateFormat();
  const m = META[kind];
  const canWrite = useCan(`${m.perm}:write`);
  const qc = useQueryClient();
  const types = useQuery({ queryKey: ['adapter-types'], queryFn: api.adapterTypes, staleTime: 300_000, retry: false });
  const list = useQuery({ queryKey: ['adapters', kind], queryFn: () => api.adapters(kind), retry: false });
  const [editing, setEditing] = useState<Adapter | 'new' | null>(null);
  const [browsing, setBrowsing] = useState<Adapter | null>(null);
  const [tests, setTests] = useState<Record<string, AdapterTestResult | 'running' | Error>>({});
  const ofKind = useMemo(() => (types.data ?? []).filter((t) => t.type === kind), [types.data, kind]);
  const typeName = (id: string) => ofKind.find((t) => t.id === id)?.name ?? id;
  const refresh = () => qc.invalidateQueries({ queryKey: ['adapters', kind] });
  const test = async (a: Adapter) => {
    setTests((t) => ({ ...t, [a.id]: 'running' }));
    try {
      const r = await api.testAdapter(a.id);
      setTests((t) => ({ ...t, [a.id]: r }));
    } catch (e) {
      setTests((t) => ({ ...t, [a.id]: e as Error }));
    }
  };
  return (
    <div>
      <PageHeader title={m.title} actions={canWrite && !list.error && <Button onClick={() => setEditing('new')} disabled={!ofKind.length}>Add {m.one}</Button>}>
        {m.blurb}
      </PageHeader>
      <QueryState query={list} what={m.title.toLowerCase()}>
        {list.data?.length === 0 ? (
          <Empty title={`No ${m.title.toLowerCase()} yet`} />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Type</Th>
                <Th>Health</Th>
                <Th>Test</Th>
                {(canWrite || kind === 'database') && <Th className="text-right">Actions</Th>}
              </tr>
            </thead>
            <tbody>
              {list.data?.map((a) => {
                const t = tests[a.id];
                return (
                  <tr key={a.id}>
                    <Td className="font-medium">{a.name}</Td>
                    <Td>{typeName(a.adapterId)}</Td>
                    <Td className="whitespace-nowrap">
                      <div className="flex flex-wrap items-center gap-2">
                        {kind !== 'notification' && (
                          <span title={a.lastHealthCheck ? `checked ${fmt.dateTime(a.lastHealthCheck)}` : undefined}>
                            <HealthBadge status={a.lastStatus} />
                          </span>
                        )}
                        <HealthGrid adapterId={a.id} name={a.name} />
                      </div>
                    </Td>
                    <Td className="min-w-48">
                      {t === 'running' ? (
                        <span className="text-sm text-muted">Testing…</span>
                      ) : t instanceof Error ? (
                        <ErrorAlert error={t} />
                      ) : t ? (
                        <TestResult result={t} />
                      ) : (
                        <Button size="sm" variant="secondary" onClick={() => test(a)}>
                          Test connection
                        </Button>
                      )}
                    </Td>
                    {(canWrite || kind === 'database') && (
                      <Td className="whitespace-nowrap text-right">
                        <div className="inline-flex gap-1">
                          {kind === 'database' && (
                            <Button size="sm" variant="secondary" onClick={() => setBrowsing(a)}>
                              Databases
                            </Button>
                          )}
                          {canWrite && (
                            <>
                              <Button size="sm" variant="secondary" onClick={() => setEditing(a)} disabled={!ofKind.length}>
                                Edit
                              </Button>
                              <ConfirmButton
                                label="Delete"
                                title={`Delete ${a.name}?`}
                                description="Jobs that use it must be changed first."
                                onConfirm={() => api.deleteAdapter(a.id).then(refresh)}
                              />
                            </>
                          )}
                        </div>
                      </Td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </Table>
        )}
      </QueryState>
      {browsing && (
        <Dialog open onOpenChange={(o) => !o && setBrowsing(null)} title={`Databases on ${browsing.name}`} description="Listed live by the worker; system databases are hidden unless you ask.">
          <DatabaseList sourceId={browsing.id} />
        </Dialog>
      )}
      {editing && (
        <AdapterDialog
          kind={kind}
          types={ofKind}
          adapter={editing === 'new' ? null : editing}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            refresh();
          }}
        />
      )}
    </div>
  );
}

/** Create/edit form generated from the adapter type's JSON Schema. */
function AdapterDialog({ kind, types, adapter, onClose, onSaved }: { kind: AdapterKind; types: AdapterType[]; adapter: Adapter | null; onClose: () => void; onSaved: () => void }) {
  const [typeId, setTypeId] = useState(adapter?.adapterId ?? types[0]?.id ?? '');
  const type = types.find((t) => t.id === typeId);
  const [name, setName] = useState(adapter?.name ?? '');
  const [values, setValues] = useState<FormValues>(() => (type ? initialValues(type, adapter?.config) : {}));
  const [fieldErrors, setFieldErrors] = useState<Record<string, string>>({});
  const [error, setError] = useState<unknown>(null);
  const [result, setResult] = useState<AdapterTestResult | null>(null);
  const [busy, setBusy] = useState<'save' | 'test' | null>(null);
  // A kept secret stays with its target: once a field that binds it changes, ask for it again.
  const initial = useMemo(() => (type ? initialValues(type, adapter?.config) : {}), [type, adapter]);
  const reenter = adapter && type ? secretsToReenter(type, initial, values) : {};
  /** The API's 400 names the fields it refused (`details.fields`): show each under its input. */
  const failed = (err: unknown) => {
    setError(err);
    const fields = err instanceof ApiError && err.details && typeof err.details === 'object' ? (err.details as { fields?: unknown }).fields : undefined;
    if (fields && typeof fields === 'object') setFieldErrors(Object.fromEntries(Object.entries(fields).map(([k, v]) => [k, String(v)])));
  };
  const build = () => {
    if (!type) return null;
    const { config, errors } = toConfig(type, values);
    setFieldErrors(errors);
    return Object.keys(errors).length ? null : { name, type: kind, adapterId: type.id, config };
  };
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    const body = build();
    if (!body) return;
    setBusy('save');
    setError(null);
    try {
      if (adapter) await api.updateAdapter(adapter.id, body);
      else await api.createAdapter(body);
      onSaved();
    } catch (err) {
      failed(err);
    } finally {
      setBusy(null);
    }
  };
  const test = async () => {
    const body = build();
    if (!body) return;
    setBusy('test');
    setError(null);
    setResult(null);
    try {
      setResult(await api.testAdapterConfig({ ...body, id: adapter?.id }));
    } catch (err) {
      failed(err);
    } finally {
      setBusy(null);
    }
  };
  return (
    <Dialog open wide onOpenChange={(o) => !o && onClose()} title={adapter ? `Edit ${adapter.name}` : `Add ${META[kind].one}`} description="Secret fields are write-only: leave the mask to keep the stored value.">
      <form onSubmit={submit} className="grid gap-3 md:grid-cols-2">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
        <Field label="Type">
          {(id) => (
            <Select
              id={id}
              value={typeId}
              disabled={!!adapter}
              onChange={(e) => {
                setTypeId(e.target.value);
                const t = types.find((x) => x.id === e.target.value);
                if (t) setValues(initialValues(t));
                setResult(null);
              }}
            >
              {types.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
        {type &&
          fieldsOf(type).map((f) => (
            <SchemaInput
              key={f.name}
              field={f}
              value={values[f.name]}
              onChange={(x) => setValues((vs) => ({ ...vs, [f.name]: x }))}
              editing={!!adapter}
              errors={{ ...reenter, ...fieldErrors }}
            />
          ))}
        <div className="space-y-2 md:col-span-2">
          {result && <TestResult result={result} />}
          <ErrorAlert error={error} />
          <div className="flex justify-end gap-2">
            <Button variant="secondary" onClick={test} disabled={!!busy}>
              {busy === 'test' ? 'Testing…' : 'Test connection'}
            </Button>
            <Button type="submit" disabled={!!busy}>
              {adapter ? 'Save' : 'Create'}
            </Button>
          </div>
        </div>
      </form>
    </Dialog>
  );
}
