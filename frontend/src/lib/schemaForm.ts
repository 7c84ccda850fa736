/**
 * Forms generated from an adapter type's JSON Schema: which fields to show, their input kind,
 * defaults, which are secret (write-only), and turning the form's strings back into typed config.
 */
import type { AdapterType, JsonSchema } from '../api/types';

/** What the API answers in place of a stored secret; sending it back keeps the secret. */
export const SECRET_MASK = '••••';

export type FieldKind = 'text' | 'password' | 'number' | 'boolean' | 'select' | 'textarea' | 'list' | 'map' | 'object';

export interface Field {
  name: string;
  label: string;
  kind: FieldKind;
  required: boolean;
  secret: boolean;
  /** Changing it drops the stored secrets (the API answers 400 if they are sent masked). */
  bindsSecrets: boolean;
  description?: string;
  options?: (string | number)[];
  min?: number;
  max?: number;
  /** An `object` field's own fields (the `ssh` host: host, port, user, password, …). */
  fields?: Field[];
  /**
   * An `object` field whose schema says `anyOf: [{required: [a]}, {required: [b]}]`: the
   * alternatives (`['password', 'privateKey']`); the form asks for one of them.
   */
  choices?: string[];
  /** The schema default, shown as the placeholder of an empty input. */
  placeholder?: string;
}

function typeOf(s: JsonSchema): string {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null') ?? 'string';
  return s.type ?? 'string';
}

/** Is `name` a secret field of `t`? (schema `secret`/`writeOnly`/`x-secret`, or `secretFields`). */
export function isSecret(t: AdapterType, name: string): boolean {
  const s = t.schema.properties?.[name];
  if (t.secretFields?.includes(name)) return true;
  if (s && (s.secret || s.writeOnly || s['x-secret'])) return true;
  return !t.secretFields && !!s && s.format === 'password';
}

/** The fields of an adapter type's schema, in declaration order. */
export function fieldsOf(t: AdapterType): Field[] {
  return fieldsOfSchema(t.schema, (name) => isSecret(t, name));
}

/** The alternatives of `anyOf: [{required: [a]}, {required: [b]}, …]`, if the schema has that shape. */
function choicesOf(s: JsonSchema): string[] | undefined {
  const any = (s as { anyOf?: JsonSchema[] }).anyOf;
  if (!Array.isArray(any) || any.length < 2) return undefined;
  const names = any.map((a) => (a.required?.length === 1 ? a.required[0] : null));
  return names.every((n): n is string => !!n && !!s.properties?.[n]) ? names : undefined;
}

function fieldsOfSchema(schema: JsonSchema, secretOf: (name: string, s: JsonSchema) => boolean): Field[] {
  const props = schema.properties ?? {};
  const required = new Set(schema.required ?? []);
  return Object.entries(props).map(([name, s]) => {
    const secret = secretOf(name, s);
    const ty = typeOf(s);
    let kind: FieldKind = 'text';
    let fields: Field[] | undefined;
    // An object with its own properties (the `ssh` host) is a sub-form; its secret keys say so
    // themselves. A secret map (webhook headers) stays a "Name: value" map; the API masks each value.
    if (ty === 'object' && s.properties) {
      kind = 'object';
      fields = fieldsOfSchema(s, (_, p) => !!(p.secret || p.writeOnly || p['x-secret']));
    } else if (ty === 'object') kind = 'map';
    else if (secret) kind = /private.?key/i.test(name) || s.format === 'textarea' ? 'textarea' : 'password';
    else if (s.enum) kind = 'select';
    else if (ty === 'boolean') kind = 'boolean';
    else if (ty === 'integer' || ty === 'number') kind = 'number';
    else if (ty === 'array') kind = 'list';
    else if (s.format === 'textarea' || s.format === 'multiline') kind = 'textarea';
    return {
      name,
      label: s.title ?? humanize(name),
      kind,
      required: required.has(name),
      secret,
      bindsSecrets: !!s['x-binds-secrets'],
      description: s.description,
      options: s.enum,
      min: s.minimum,
      max: s.maximum,
      fields,
      choices: kind === 'object' ? choicesOf(s) : undefined,
      placeholder: s.default === undefined || s.default === null ? undefined : String(s.default),
    };
  });
}

/** "privateKey" / "private_key" → "Private key". */
export function humanize(name: string): string {
  const words = name
    .replace(/([a-z0-9])([A-Z])/g, '$1 $2')
    .replace(/[_-]+/g, ' ')
    .trim()
    .toLowerCase();
  const out = words
    .split(' ')
    .map((w) => (ACRONYMS.has(w) ? w.toUpperCase() : w))
    .join(' ');
  return out.charAt(0).toUpperCase() + out.slice(1);
}

/** Words shown in capitals ("ssh" → "SSH"). */
const ACRONYMS = new Set(['ssh']);

/**
 * An `object` field's form state: whether it is used at all (an absent `ssh` means the dump
 * runs where the worker is), which of its `choices` is chosen, and its fields' values.
 */
export interface ObjectValue {
  enabled: boolean;
  choice: string;
  values: Record<string, string>;
}

/** A list field's rows; an object field's [`ObjectValue`]; text as typed; switches as booleans. */
export type FormValue = string | boolean | string[] | ObjectValue;
export type FormValues = Record<string, FormValue>;

export function isObjectValue(v: FormValue | undefined): v is ObjectValue {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** An object field's initial state from its stored value (secret keys as the mask). */
function initialObject(f: Field, v: unknown): ObjectValue {
  const stored = v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  const values: Record<string, string> = {};
  // Sub-fields start empty, not at their default (shown as the placeholder): a PUT sends back
  // exactly what was stored, and the API compares the whole object to keep its secrets.
  for (const sub of f.fields ?? []) values[sub.name] = stored && stored[sub.name] != null ? String(stored[sub.name]) : '';
  const choices = f.choices ?? [];
  // The stored alternative; for a new one the last (a private key, for SSH).
  const choice = choices.find((c) => values[c] !== '') ?? choices[choices.length - 1] ?? '';
  return { enabled: !!stored, choice, values };
}

/** The initial form values: from an existing config (secrets as the mask), else defaults. */
export function initialValues(t: AdapterType, config?: Record<string, unknown>): FormValues {
  const out: FormValues = {};
  for (const f of fieldsOf(t)) {
    const s = t.schema.properties?.[f.name] ?? {};
    const v = config && f.name in config ? config[f.name] : s.default;
    if (f.kind === 'boolean') out[f.name] = v === true;
    else if (f.kind === 'object') out[f.name] = initialObject(f, config?.[f.name]);
    // At least one row to type into.
    else if (f.kind === 'list') out[f.name] = Array.isArray(v) && v.length ? v.map(String) : [''];
    else if (f.kind === 'map')
      out[f.name] = v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${k}: ${String(x)}`).join('\n') : '';
    else out[f.name] = v === undefined || v === null ? '' : String(v);
  }
  return out;
}

/** A key's passphrase is sent (and shown) only with the private key chosen. */
export function passphraseUnused(f: Field, name: string, v: ObjectValue): boolean {
  return name === 'passphrase' && !!f.choices?.includes('privateKey') && v.choice !== 'privateKey';
}

/**
 * An object field's value → its config object, or errors keyed `<field>.<key>`. Only the chosen
 * alternative of `choices` is sent (with the fields that are no alternative: a passphrase).
 */
function objectToConfig(f: Field, v: ObjectValue, errors: Record<string, string>): Record<string, unknown> {
  const fields = (f.fields ?? []).filter((x) => !f.choices?.includes(x.name) || x.name === v.choice).filter((x) => !passphraseUnused(f, x.name, v));
  const required = new Set([...fields.filter((x) => x.required).map((x) => x.name), ...(v.choice ? [v.choice] : [])]);
  const { config, errors: e } = valuesToConfig(
    fields.map((x) => ({ ...x, required: required.has(x.name) })),
    v.values,
  );
  for (const [k, why] of Object.entries(e)) errors[`${f.name}.${k}`] = why;
  return config;
}

/** Form values → config. Empty optional fields are left out; numbers parsed; empty list rows dropped. */
export function toConfig(t: AdapterType, values: FormValues): { config: Record<string, unknown>; errors: Record<string, string> } {
  return valuesToConfig(fieldsOf(t), values);
}

function valuesToConfig(
  fields: Field[],
  values: Record<string, FormValue>,
): { config: Record<string, unknown>; errors: Record<string, string> } {
  const config: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (f.kind === 'boolean') {
      config[f.name] = v === true;
      continue;
    }
    if (f.kind === 'object') {
      if (isObjectValue(v) && v.enabled) config[f.name] = objectToConfig(f, v, errors);
      else if (f.required) errors[f.name] = 'required';
      continue;
    }
    if (f.kind === 'list') {
      // One entry per row, as typed (a path may hold a comma); empty rows dropped.
      const rows = (Array.isArray(v) ? v : typeof v === 'string' ? v.split('\n') : []).map((x) => x.trim()).filter(Boolean);
      if (rows.length) config[f.name] = rows;
      else if (f.required) errors[f.name] = 'required';
      continue;
    }
    const s = typeof v === 'string' ? v.trim() : '';
    if (s === '') {
      if (f.required) errors[f.name] = 'required';
      continue;
    }
    if (f.kind === 'number') {
      const n = Number(s);
      if (!Number.isFinite(n)) errors[f.name] = 'must be a number';
      else if (f.min !== undefined && n < f.min) errors[f.name] = `at least ${f.min}`;
      else if (f.max !== undefined && n > f.max) errors[f.name] = `at most ${f.max}`;
      else config[f.name] = n;
    } else if (f.kind === 'map') {
      const map: Record<string, string> = {};
      for (const line of s.split('\n').map((l) => l.trim()).filter(Boolean)) {
        const i = line.indexOf(':');
        if (i <= 0) {
          errors[f.name] = `"${line}" is not "name: value"`;
          break;
        }
        map[line.slice(0, i).trim()] = line.slice(i + 1).trim();
      }
      config[f.name] = map;
    } else if (f.kind === 'select' && typeof f.options?.[0] === 'number') {
      config[f.name] = Number(s);
    } else {
      config[f.name] = f.secret ? (typeof v === 'string' ? v : '') : s;
    }
  }
  return { config, errors };
}

/**
 * The secrets that must be entered again, with the message to show under each: a kept secret
 * (still the mask, or a map with a masked value) stays only with the target it was entered for,
 * so once a field that binds the secrets differs from its `initial` value, the API refuses the
 * mask (400 naming the secret). Empty when nothing binding changed.
 */
export function secretsToReenter(t: AdapterType, initial: FormValues, values: FormValues): Record<string, string> {
  const fields = fieldsOf(t);
  const changed = fields.filter((f) => f.bindsSecrets && !sameValue(f, initial[f.name], values[f.name]));
  if (!changed.length) return {};
  const why = `enter it again: ${changed.map((f) => f.label).join(', ')} changed`;
  const out: Record<string, string> = {};
  for (const f of fields) {
    const v = values[f.name];
    if (f.kind === 'object' && isObjectValue(v)) {
      // An object's kept secrets (the SSH password or key) are asked for under their own input.
      if (!v.enabled) continue;
      for (const sub of f.fields ?? []) {
        if (sub.secret && (v.values[sub.name] ?? '').includes(SECRET_MASK)) out[`${f.name}.${sub.name}`] = why;
      }
    } else if (f.secret && String(v ?? '').includes(SECRET_MASK)) out[f.name] = why;
  }
  return out;
}

/** Whether a field's value is unchanged as the API would compare it (an object as sent). */
function sameValue(f: Field, a: FormValue | undefined, b: FormValue | undefined): boolean {
  if (f.kind === 'object') {
    const sent = (v: FormValue | undefined) => (isObjectValue(v) && v.enabled ? JSON.stringify(objectToConfig(f, v, {})) : '');
    return sent(a) === sent(b);
  }
  if (Array.isArray(a) || Array.isArray(b)) return JSON.stringify(a ?? []) === JSON.stringify(b ?? []);
  return String(a ?? '') === String(b ?? '');
}
