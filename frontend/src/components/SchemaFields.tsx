/**
 * The inputs of a form generated from an adapter type's JSON Schema (lib/schemaForm.ts): one
 * per field kind, a list as rows with add/remove, and an object (the source's `ssh` host) as a
 * sub-form behind a switch.
 */
import type { ReactNode } from 'react';
import { Button, Field, Input, Select, Switch, Textarea } from './ui';
import { SECRET_MASK, isObjectValue, passphraseUnused, type Field as SchemaField, type FormValue, type ObjectValue } from '../lib/schemaForm';

/** Words the schema cannot carry: the `ssh` object's title, its inputs' labels and hints. */
const OBJECT_TEXT: Record<string, { title: string; blurb: string; labels: Record<string, string>; hints: Record<string, ReactNode> }> = {
  ssh: {
    title: 'Run the dump over SSH',
    blurb:
      'The dump and restore tools run on this SSH host and their output streams back over the connection. Host and port above are then the database as that host reaches it (often 127.0.0.1).',
    labels: {
      host: 'SSH host',
      port: 'SSH port',
      user: 'SSH user',
      password: 'SSH password',
      privateKey: 'SSH private key',
      passphrase: 'Key passphrase',
      hostKey: 'Pinned host key',
    },
    hints: {
      privateKey: 'The whole OpenSSH (or PEM) private key, pasted as is.',
      passphrase: 'Only if the private key is encrypted.',
      hostKey: (
        <>
          The server&apos;s public host key line, e.g. the content of <code>/etc/ssh/ssh_host_ed25519_key.pub</code> on that host
          (or <code>ssh-keyscan -t ed25519 HOST</code> without the leading host name), or its <code>SHA256:…</code> fingerprint
          from <code>ssh-keygen -lf</code>. A different key is refused before any secret is sent.
        </>
      ),
    },
  },
};

/** Placeholders of known list fields (the files source). */
const LIST_PLACEHOLDER: Record<string, string> = {
  paths: '/srv/data',
  excludes: '*.log',
};

/** "one more row" button labels of known list fields. */
const LIST_ADD: Record<string, string> = {
  paths: 'Add a path',
  excludes: 'Add a pattern',
  to: 'Add a recipient',
};

export interface SchemaInputProps {
  field: SchemaField;
  value: FormValue | undefined;
  onChange: (v: FormValue) => void;
  /** Editing a stored adapter: a secret's placeholder shows the mask. */
  editing: boolean;
  /** Errors by field name; an object's inputs by `<field>.<key>`. */
  errors: Record<string, string | undefined>;
}

/** One schema field with its label, hint and error, across the form's two columns when wide. */
export function SchemaInput({ field: f, value: v, onChange, editing, errors }: SchemaInputProps) {
  if (f.kind === 'object') {
    return (
      <div className="md:col-span-2">
        <ObjectFieldset field={f} value={isObjectValue(v) ? v : undefined} onChange={onChange} editing={editing} errors={errors} />
      </div>
    );
  }
  const wide = f.kind === 'textarea' || f.kind === 'list' || f.kind === 'map';
  return (
    <div className={wide ? 'md:col-span-2' : undefined}>
      <PlainInput label={`${f.label}${f.required ? ' *' : ''}`} field={f} value={v} onChange={onChange} editing={editing} error={errors[f.name]} />
    </div>
  );
}

function PlainInput({
  label,
  field: f,
  value: v,
  onChange: set,
  editing,
  error,
  hint,
}: {
  label: string;
  field: SchemaField;
  value: FormValue | undefined;
  onChange: (v: FormValue) => void;
  editing: boolean;
  error?: string;
  hint?: ReactNode;
}) {
  if (f.kind === 'list') {
    return <ListInput label={label} field={f} rows={Array.isArray(v) ? v : typeof v === 'string' ? v.split('\n') : ['']} onChange={set} error={error} />;
  }
  return (
    <Field label={label} hint={hint ?? f.description} error={error}>
      {(id, d) =>
        f.kind === 'boolean' ? (
          <Switch id={id} aria-describedby={d} checked={v === true} onCheckedChange={set} />
        ) : f.kind === 'select' ? (
          <Select id={id} aria-describedby={d} value={String(v ?? '')} onChange={(e) => set(e.target.value)}>
            {!f.required && <option value="">—</option>}
            {f.options?.map((o) => (
              <option key={String(o)}>{String(o)}</option>
            ))}
          </Select>
        ) : f.kind === 'textarea' || f.kind === 'map' ? (
          <Textarea
            id={id}
            aria-describedby={d}
            value={String(v ?? '')}
            placeholder={f.kind === 'map' ? 'Name: value, one per line' : f.secret && editing ? SECRET_MASK : undefined}
            onChange={(e) => set(e.target.value)}
            autoComplete="off"
            spellCheck={false}
          />
        ) : (
          <Input
            id={id}
            aria-describedby={d}
            type={f.kind === 'password' ? 'password' : f.kind === 'number' ? 'number' : 'text'}
            value={String(v ?? '')}
            min={f.min}
            max={f.max}
            placeholder={f.placeholder}
            autoComplete={f.secret ? 'new-password' : 'off'}
            onChange={(e) => set(e.target.value)}
          />
        )
      }
    </Field>
  );
}

/** A list of strings as one input per row; pasting several lines into a row adds rows. */
function ListInput({
  label,
  field: f,
  rows,
  onChange,
  error,
}: {
  label: string;
  field: SchemaField;
  rows: string[];
  onChange: (v: string[]) => void;
  error?: string;
}) {
  const shown = rows.length ? rows : [''];
  const set = (i: number, text: string) => {
    const lines = text.split(/\r?\n/);
    onChange([...shown.slice(0, i), ...lines, ...shown.slice(i + 1)]);
  };
  const remove = (i: number) => onChange(shown.length > 1 ? shown.filter((_, j) => j !== i) : ['']);
  const hintId = `${f.name}-list-hint`;
  return (
    <fieldset className="space-y-1" aria-describedby={f.description || error ? hintId : undefined} data-testid={`list-${f.name}`}>
      <legend className="block text-sm font-medium">{label}</legend>
      {shown.map((row, i) => (
        <div key={i} className="flex gap-2">
          <Input
            aria-label={`${f.label} ${i + 1}`}
            value={row}
            placeholder={i === 0 ? LIST_PLACEHOLDER[f.name] : undefined}
            autoComplete="off"
            spellCheck={false}
            onChange={(e) => set(i, e.target.value)}
            onPaste={(e) => {
              const text = e.clipboardData.getData('text');
              if (text.includes('\n')) {
                e.preventDefault();
                set(i, row + text);
              }
            }}
          />
          <Button size="sm" variant="ghost" aria-label={`Remove ${f.label.toLowerCase()} ${i + 1}`} onClick={() => remove(i)} disabled={shown.length === 1 && row === ''}>
            ✕
          </Button>
        </div>
      ))}
      <Button size="sm" variant="secondary" onClick={() => onChange([...shown, ''])}>
        {LIST_ADD[f.name] ?? `Add to ${f.label.toLowerCase()}`}
      </Button>
      {(f.description || error) && (
        <p id={hintId} className={error ? 'text-xs text-danger' : 'text-xs text-muted'}>
          {error ?? f.description}
        </p>
      )}
    </fieldset>
  );
}

/**
 * An object field as a sub-form behind a switch (off: the field is left out of the config). Its
 * `choices` (password or private key) are one select; only the chosen input is shown and sent.
 */
function ObjectFieldset({
  field: f,
  value,
  onChange,
  editing,
  errors,
}: {
  field: SchemaField;
  value: ObjectValue | undefined;
  onChange: (v: FormValue) => void;
  editing: boolean;
  errors: Record<string, string | undefined>;
}) {
  const text = OBJECT_TEXT[f.name];
  const v: ObjectValue = value ?? { enabled: false, choice: f.choices?.[f.choices.length - 1] ?? '', values: {} };
  const subs = f.fields ?? [];
  const label = (name: string) => text?.labels[name] ?? `${f.label}: ${subs.find((s) => s.name === name)?.label ?? name}`;
  const switchId = `object-${f.name}-enabled`;
  return (
    <fieldset className="space-y-3 rounded-md border border-border p-3" data-testid={`object-${f.name}`}>
      <div className="flex items-center gap-3">
        <Switch
          id={switchId}
          aria-describedby={`${switchId}-hint`}
          checked={v.enabled}
          onCheckedChange={(on) => onChange({ ...v, enabled: on })}
        />
        <label htmlFor={switchId} className="text-sm font-medium">
          {text?.title ?? f.label}
        </label>
      </div>
      <p id={`${switchId}-hint`} className={errors[f.name] ? 'text-xs text-danger' : 'text-xs text-muted'}>
        {errors[f.name] ?? text?.blurb ?? f.description}
      </p>
      {v.enabled && (
        <div className="grid gap-3 md:grid-cols-2">
          {f.choices && (
            <div className="md:col-span-2">
              <Field label="Sign in with">
                {(id) => (
                  <Select id={id} value={v.choice} onChange={(e) => onChange({ ...v, choice: e.target.value })}>
                    {f.choices?.map((c) => (
                      <option key={c} value={c}>
                        {subs.find((s) => s.name === c)?.label ?? c}
                      </option>
                    ))}
                  </Select>
                )}
              </Field>
            </div>
          )}
          {subs
            .filter((s) => !f.choices?.includes(s.name) || s.name === v.choice)
            .filter((s) => !passphraseUnused(f, s.name, v))
            .map((s) => {
              const required = s.required || s.name === v.choice;
              const wide = s.kind === 'textarea' || s.name === 'hostKey';
              return (
                <div key={s.name} className={wide ? 'md:col-span-2' : undefined}>
                  <PlainInput
                    label={`${label(s.name)}${required ? ' *' : ''}`}
                    field={s}
                    value={v.values[s.name] ?? ''}
                    onChange={(x) => onChange({ ...v, values: { ...v.values, [s.name]: String(x) } })}
                    editing={editing}
                    error={errors[`${f.name}.${s.name}`]}
                    hint={text?.hints[s.name]}
                  />
                </div>
              );
            })}
        </div>
      )}
    </fieldset>
  );
}
