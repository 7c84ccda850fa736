/**
 * Forms generated from an adapter type's JSON Schema: which fields to show, their input kind,
 * defaults, which are secret (write-only), and turning the form's strings back into typed config.
 */
import type { AdapterType, JsonSchema } from '../api/types';

/** What the API answers in place of a stored secret; sending it back keeps the secret. */
export const SECRET_MASK = '••••';

export type FieldKind = 'text' | 'password' | 'number' | 'boolean' | 'select' | 'textarea' | 'list' | 'map';

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
  const props = t.schema.properties ?? {};
  const required = new Set(t.schema.required ?? []);
  return Object.entries(props).map(([name, s]) => {
    const secret = isSecret(t, name);
    const ty = typeOf(s);
    let kind: FieldKind = 'text';
    // A secret map (webhook headers) stays a "Name: value" map; the API masks each value.
    if (ty === 'object') kind = 'map';
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
  return words.charAt(0).toUpperCase() + words.slice(1);
}

export type FormValues = Record<string, string | boolean>;

/** The initial form values: from an existing config (secrets as the mask), else defaults. */
export function initialValues(t: AdapterType, config?: Record<string, unknown>): FormValues {
  const out: FormValues = {};
  for (const f of fieldsOf(t)) {
    const s = t.schema.properties?.[f.name] ?? {};
    const v = config && f.name in config ? config[f.name] : s.default;
    if (f.kind === 'boolean') out[f.name] = v === true;
    else if (f.kind === 'list') out[f.name] = Array.isArray(v) ? v.join('\n') : '';
    else if (f.kind === 'map')
      out[f.name] = v && typeof v === 'object' ? Object.entries(v).map(([k, x]) => `${k}: ${String(x)}`).join('\n') : '';
    else out[f.name] = v === undefined || v === null ? '' : String(v);
  }
  return out;
}

/** Form values → config. Empty optional fields are left out; numbers parsed; lists split on lines/commas. */
export function toConfig(t: AdapterType, values: FormValues): { config: Record<string, unknown>; errors: Record<string, string> } {
  const config: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const f of fieldsOf(t)) {
    const v = values[f.name];
    if (f.kind === 'boolean') {
      config[f.name] = v === true;
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
    } else if (f.kind === 'list') {
      config[f.name] = s.split(/[\n,]/).map((x) => x.trim()).filter(Boolean);
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
  const changed = fields.filter((f) => f.bindsSecrets && String(initial[f.name] ?? '') !== String(values[f.name] ?? ''));
  if (!changed.length) return {};
  const why = `enter it again: ${changed.map((f) => f.label).join(', ')} changed`;
  const out: Record<string, string> = {};
  for (const f of fields) {
    if (f.secret && String(values[f.name] ?? '').includes(SECRET_MASK)) out[f.name] = why;
  }
  return out;
}
