/** Searchable single select (combobox), searchable multi-select, and the database picker. */
import { useEffect, useId, useMemo, useRef, useState } from 'react';
import { useQuery } from '@tanstack/react-query';
import { api } from '../api/client';
import { Badge, Button, Field, Input, Switch } from './ui';
import { cn } from '../lib/utils';
import { filterDatabases, filterOptions, parseNames, toggled, unlisted } from '../lib/pickers';

export interface Option {
  value: string;
  label?: string;
  hint?: string;
}

const labelOf = (o: Option) => o.label ?? o.value;

/**
 * A text box that filters a long list (ARIA combobox + listbox): type to search, arrows to move,
 * Enter to choose, Escape to cancel. The value only changes to one of `options`.
 */
export function SearchableSelect({
  id,
  value,
  onChange,
  options,
  disabled,
  describedBy,
  placeholder,
  limit = 80,
}: {
  id?: string;
  value: string;
  onChange: (v: string) => void;
  options: readonly Option[];
  disabled?: boolean;
  describedBy?: string;
  placeholder?: string;
  limit?: number;
}) {
  const listId = useId();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState<string | null>(null);
  const [active, setActive] = useState(0);
  const listRef = useRef<HTMLUListElement>(null);
  const current = options.find((o) => o.value === value);
  const shown = useMemo(() => filterOptions(options, query ?? '', labelOf, limit), [options, query, limit]);
  useEffect(() => {
    listRef.current?.querySelector(`[data-index="${active}"]`)?.scrollIntoView({ block: 'nearest' });
  }, [active]);
  const choose = (o: Option | undefined) => {
    if (o) onChange(o.value);
    setQuery(null);
    setOpen(false);
  };
  return (
    <div className="relative">
      <Input
        id={id}
        role="combobox"
        aria-expanded={open}
        aria-controls={listId}
        aria-autocomplete="list"
        aria-describedby={describedBy}
        aria-activedescendant={open && shown[active] ? `${listId}-${active}` : undefined}
        autoComplete="off"
        disabled={disabled}
        placeholder={placeholder ?? 'Type to search…'}
        value={query ?? (current ? labelOf(current) : value)}
        onFocus={(e) => e.currentTarget.select()}
        onChange={(e) => {
          setQuery(e.target.value);
          setActive(0);
          setOpen(true);
        }}
        onBlur={() => {
          // An exact match typed in full counts as chosen; anything else restores the value.
          const exact = query ? options.find((o) => labelOf(o).toLowerCase() === query.trim().toLowerCase()) : undefined;
          choose(exact);
        }}
        onKeyDown={(e) => {
          if (e.key === 'ArrowDown') {
            e.preventDefault();
            if (!open) setOpen(true);
            else setActive((a) => Math.min(shown.length - 1, a + 1));
          } else if (e.key === 'ArrowUp') {
            e.preventDefault();
            setActive((a) => Math.max(0, a - 1));
          } else if (e.key === 'Enter' && open) {
            e.preventDefault();
            choose(shown[active]);
          } else if (e.key === 'Escape' && open) {
            e.preventDefault();
            setQuery(null);
            setOpen(false);
          }
        }}
      />
      {open && (
        <ul
          ref={listRef}
          id={listId}
          role="listbox"
          className="absolute z-50 mt-1 max-h-64 w-full overflow-y-auto rounded-md border border-border bg-card py-1 text-sm shadow-lg"
        >
          {shown.length === 0 && <li className="px-3 py-1.5 text-muted">No match</li>}
          {shown.map((o, i) => (
            <li
              key={o.value}
              id={`${listId}-${i}`}
              data-index={i}
              role="option"
              aria-selected={o.value === value}
              className={cn('cursor-pointer px-3 py-1.5', i === active && 'bg-subtle', o.value === value && 'font-medium')}
              onMouseEnter={() => setActive(i)}
              // mousedown, not click: keeps the focus in the box so blur does not close first.
              onMouseDown={(e) => {
                e.preventDefault();
                choose(o);
              }}
            >
              {labelOf(o)}
              {o.hint && <span className="ml-2 text-xs text-muted">{o.hint}</span>}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

/** Checkboxes with a search box (shown for more than `searchFrom` options) and a count. */
export function CheckList({
  label,
  options,
  selected,
  onChange,
  disabled,
  empty = 'Nothing to choose from.',
  searchFrom = 6,
}: {
  label: string;
  options: readonly Option[];
  selected: readonly string[];
  onChange: (v: string[]) => void;
  disabled?: boolean;
  empty?: string;
  searchFrom?: number;
}) {
  const [query, setQuery] = useState('');
  const shown = filterOptions(options, query, labelOf);
  return (
    <div role="group" aria-label={label} className="space-y-2">
      {options.length > searchFrom && (
        <Input aria-label={`Search ${label.toLowerCase()}`} placeholder="Search…" value={query} onChange={(e) => setQuery(e.target.value)} />
      )}
      {options.length === 0 ? (
        <p className="text-sm text-muted">{empty}</p>
      ) : (
        <ul className="max-h-56 space-y-1 overflow-y-auto rounded-md border border-border p-2">
          {shown.map((o) => (
            <li key={o.value}>
              <label className="flex items-center gap-2 text-sm">
                <input
                  type="checkbox"
                  className="h-4 w-4 accent-[var(--color-primary)]"
                  checked={selected.includes(o.value)}
                  disabled={disabled}
                  onChange={(e) => onChange(toggled(selected, o.value, e.target.checked))}
                />
                <span>{labelOf(o)}</span>
                {o.hint && <span className="text-xs text-muted">{o.hint}</span>}
              </label>
            </li>
          ))}
          {shown.length === 0 && <li className="text-sm text-muted">No match</li>}
        </ul>
      )}
      <p className="text-xs text-muted" aria-live="polite">
        {selected.length} selected
      </p>
    </div>
  );
}

/** The databases of a saved source (`GET /api/adapters/{id}/databases`), cached a minute. */
export function useDatabases(sourceId: string | null | undefined) {
  return useQuery({
    queryKey: ['adapter-databases', sourceId],
    queryFn: () => api.adapterDatabases(sourceId as string),
    enabled: !!sourceId,
    retry: false,
    staleTime: 60_000,
  });
}

/**
 * The databases of a job: checkboxes from the source's live list (search, system databases on
 * request) kept in step with a text box ("Databases", comma-separated), which is also the manual
 * fallback when the list cannot be fetched (the reason is shown inline).
 */
export function DatabasePicker({ sourceId, value, onChange }: { sourceId: string; value: string[]; onChange: (v: string[]) => void }) {
  const dbs = useDatabases(sourceId);
  const [text, setText] = useState(value.join(', '));
  const [query, setQuery] = useState('');
  const [showSystem, setShowSystem] = useState(false);
  // A checkbox sets the box in the same render (no effect lag between the two).
  const pick = (v: string[]) => {
    setText(v.join(', '));
    onChange(v);
  };
  // Follow changes made from outside (a reset), not the ones typed here (keeps a trailing comma).
  useEffect(() => {
    if (parseNames(text).join('\n') !== value.join('\n')) setText(value.join(', '));
  }, [value]);
  const list = dbs.data ?? [];
  const shown = filterDatabases(list, query, showSystem);
  const missing = dbs.data ? unlisted(value, list) : [];
  const systemCount = list.filter((d) => d.system).length;
  return (
    <div className="space-y-2" data-testid="database-picker">
      {!sourceId ? (
        <p className="text-sm text-muted">Choose a source to list its databases.</p>
      ) : dbs.isPending ? (
        <p className="text-sm text-muted" aria-busy="true">
          Listing databases…
        </p>
      ) : dbs.error ? (
        <div role="status" data-testid="database-list-error" className="rounded-md border border-amber-300 bg-amber-50 px-3 py-2 text-sm text-amber-900 dark:border-amber-800 dark:bg-amber-950/40 dark:text-amber-200">
          <p>
            <strong>Could not list the databases:</strong> {(dbs.error as Error).message}
          </p>
          <p className="mt-0.5 text-xs">Type their names below instead.</p>
          <Button size="sm" variant="secondary" className="mt-1" onClick={() => dbs.refetch()}>
            Retry
          </Button>
        </div>
      ) : (
        <div className="space-y-2">
          <div className="flex flex-wrap items-center gap-3">
            <Input className="max-w-60" aria-label="Search databases" placeholder="Search databases…" value={query} onChange={(e) => setQuery(e.target.value)} />
            {systemCount > 0 && (
              <label className="flex items-center gap-2 text-sm">
                <Switch checked={showSystem} onCheckedChange={setShowSystem} aria-label="Show system databases" />
                System databases ({systemCount})
              </label>
            )}
          </div>
          <ul role="group" aria-label="Available databases" className="max-h-48 space-y-1 overflow-y-auto rounded-md border border-border p-2">
            {shown.map((d) => (
              <li key={d.name}>
                <label className="flex items-center gap-2 text-sm">
                  <input type="checkbox" className="h-4 w-4" checked={value.includes(d.name)} onChange={(e) => pick(toggled(value, d.name, e.target.checked))} />
                  <span className="font-mono">{d.name}</span>
                  {d.system && <Badge>system</Badge>}
                </label>
              </li>
            ))}
            {shown.length === 0 && <li className="text-sm text-muted">{list.length ? 'No match' : 'The server lists no databases.'}</li>}
          </ul>
          {missing.length > 0 && (
            <p className="text-xs text-warn" role="status">
              Not on the server: {missing.join(', ')}
            </p>
          )}
        </div>
      )}
      <Field label="Databases" hint="Comma-separated; empty backs up every non-system database.">
        {(id, d) => (
          <Input
            id={id}
            aria-describedby={d}
            value={text}
            onChange={(e) => {
              setText(e.target.value);
              onChange(parseNames(e.target.value));
            }}
          />
        )}
      </Field>
    </div>
  );
}

/** A read-only browser of a source's databases (Sources page). */
export function DatabaseList({ sourceId }: { sourceId: string }) {
  const dbs = useDatabases(sourceId);
  const [query, setQuery] = useState('');
  const [showSystem, setShowSystem] = useState(false);
  if (dbs.isPending) return <p className="text-sm text-muted">Listing databases…</p>;
  if (dbs.error)
    return (
      <div role="alert" data-testid="database-list-error" className="text-sm text-danger">
        Could not list the databases: {(dbs.error as Error).message}
      </div>
    );
  const list = dbs.data ?? [];
  const shown = filterDatabases(list, query, showSystem);
  return (
    <div className="space-y-2">
      <div className="flex flex-wrap items-center gap-3">
        <Input className="max-w-60" aria-label="Search databases" placeholder="Search databases…" value={query} onChange={(e) => setQuery(e.target.value)} />
        <label className="flex items-center gap-2 text-sm">
          <Switch checked={showSystem} onCheckedChange={setShowSystem} aria-label="Show system databases" />
          System databases
        </label>
      </div>
      <ul aria-label="Databases" className="max-h-72 divide-y divide-border overflow-y-auto rounded-md border border-border">
        {shown.map((d) => (
          <li key={d.name} className="flex items-center justify-between px-3 py-1.5 text-sm">
            <span className="font-mono">{d.name}</span>
            {d.system && <Badge>system</Badge>}
          </li>
        ))}
        {shown.length === 0 && <li className="px-3 py-1.5 text-sm text-muted">{list.length ? 'No match' : 'The server lists no databases.'}</li>}
      </ul>
      <p className="text-xs text-muted">
        {list.filter((d) => !d.system).length} databases, {list.filter((d) => d.system).length} system
      </p>
    </div>
  );
}
