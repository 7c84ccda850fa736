import { describe, expect, it } from 'vitest';
import type { AdapterType } from '../api/types';
import { PERMISSIONS } from '../api/types';
import { visibleNav } from './nav';
import { permissionMatrix, togglePermission } from './permissions';
import { fieldsOf, humanize, initialValues, SECRET_MASK, secretsToReenter, toConfig } from './schemaForm';
import { formatBytes, formatWait } from './utils';

const postgres: AdapterType = {
  id: 'postgres',
  type: 'database',
  name: 'PostgreSQL',
  schema: {
    type: 'object',
    required: ['host', 'user'],
    properties: {
      host: { type: 'string', title: 'Host' },
      port: { type: 'integer', default: 5432, minimum: 1, maximum: 65535 },
      user: { type: 'string' },
      password: { type: 'string', writeOnly: true },
      sslMode: { type: 'string', enum: ['disable', 'require'] },
      useTls: { type: 'boolean' },
      databases: { type: 'array', items: { type: 'string' } },
      headers: { type: 'object', additionalProperties: { type: 'string' } },
    },
  },
};

describe('schema forms', () => {
  it('asks for the kept secrets again once a field that binds them changes', () => {
    const bound: AdapterType = {
      ...postgres,
      schema: {
        ...postgres.schema,
        properties: {
          ...postgres.schema.properties,
          host: { type: 'string', title: 'Host', 'x-binds-secrets': true },
          port: { type: 'integer', default: 5432, 'x-binds-secrets': true },
        },
      },
    };
    const initial = initialValues(bound, { host: 'db', user: 'u', password: SECRET_MASK });
    expect(fieldsOf(bound).filter((f) => f.bindsSecrets).map((f) => f.name)).toEqual(['host', 'port']);
    // Nothing binding changed (the database list is free): the mask keeps the secret.
    expect(secretsToReenter(bound, initial, { ...initial, databases: 'a' })).toEqual({});
    expect(secretsToReenter(bound, initial, { ...initial, host: 'evil.example', port: '1' })).toEqual({
      password: 'enter it again: Host, Port changed',
    });
    // Typed again: nothing left to ask for.
    expect(secretsToReenter(bound, initial, { ...initial, host: 'evil.example', password: 'new' })).toEqual({});
  });

  it('derives fields with kinds and secrets', () => {
    const f = fieldsOf(postgres);
    expect(f.map((x) => [x.name, x.kind, x.required, x.secret])).toEqual([
      ['host', 'text', true, false],
      ['port', 'number', false, false],
      ['user', 'text', true, false],
      ['password', 'password', false, true],
      ['sslMode', 'select', false, false],
      ['useTls', 'boolean', false, false],
      ['databases', 'list', false, false],
      ['headers', 'map', false, false],
    ]);
    expect(fieldsOf({ ...postgres, secretFields: ['user'] }).find((x) => x.name === 'user')?.secret).toBe(true);
  });

  it('round-trips values, keeps the secret mask, validates', () => {
    const v = initialValues(postgres, { host: 'db', user: 'u', password: SECRET_MASK, databases: ['a', 'b'] });
    expect(v.port).toBe('5432'); // absent from the stored config: the schema default
    expect(initialValues(postgres).port).toBe('5432');
    const { config, errors } = toConfig(postgres, { ...v, port: '6543', headers: 'X-A: 1\nAuthorization: Bearer x:y' });
    expect(errors).toEqual({});
    expect(config).toEqual({
      host: 'db',
      port: 6543,
      user: 'u',
      password: SECRET_MASK,
      useTls: false,
      databases: ['a', 'b'],
      headers: { 'X-A': '1', Authorization: 'Bearer x:y' },
    });
    expect(initialValues(postgres, { headers: { a: 'b' } }).headers).toBe('a: b');
    const bad = toConfig(postgres, { ...v, host: ' ', port: '70000' });
    expect(bad.errors).toEqual({ host: 'required', port: 'at most 65535' });
    expect(toConfig(postgres, { ...v, headers: 'nocolon' }).errors).toEqual({ headers: '"nocolon" is not "name: value"' });
  });

  it('keeps a secret map a map, its masked values sent back as shown', () => {
    const webhook: AdapterType = {
      id: 'webhook',
      type: 'notification',
      name: 'Generic webhook',
      secretFields: ['authorization', 'headers'],
      schema: {
        type: 'object',
        required: ['url'],
        properties: {
          url: { type: 'string' },
          headers: { type: 'object', additionalProperties: { type: 'string' }, writeOnly: true, 'x-secret': true },
        },
      },
    };
    expect(fieldsOf(webhook).map((x) => [x.name, x.kind, x.secret])).toEqual([
      ['url', 'text', false],
      ['headers', 'map', true],
    ]);
    const v = initialValues(webhook, { url: 'https://h', headers: { Authorization: SECRET_MASK, 'X-Env': SECRET_MASK } });
    expect(v.headers).toBe(`Authorization: ${SECRET_MASK}\nX-Env: ${SECRET_MASK}`);
    const { config } = toConfig(webhook, { ...v, headers: `Authorization: ${SECRET_MASK}\nX-Env: staging` });
    expect(config.headers).toEqual({ Authorization: SECRET_MASK, 'X-Env': 'staging' });
  });

  it('humanizes names', () => {
    expect(humanize('privateKey')).toBe('Private key');
    expect(humanize('base_path')).toBe('Base path');
  });
});

describe('permissions', () => {
  it('filters the navigation', () => {
    expect(visibleNav([]).map((n) => n.to)).toEqual(['/dashboard']);
    const all = visibleNav(PERMISSIONS).map((n) => n.to);
    expect(all).toContain('/audit');
    expect(visibleNav(['jobs:read', 'history:read']).map((n) => n.to)).toEqual(['/dashboard', '/jobs', '/history']);
  });

  it('groups permissions into a matrix and grants read with write', () => {
    const m = permissionMatrix();
    expect(m.find((r) => r.resource === 'jobs')?.actions).toEqual(['read', 'write', 'execute']);
    expect(m.flatMap((r) => r.actions).length).toBe(PERMISSIONS.length);
    expect(togglePermission([], 'jobs:write', true)).toEqual(['jobs:read', 'jobs:write']);
    expect(togglePermission(['jobs:read', 'jobs:write'], 'jobs:read', false)).toEqual(['jobs:write']);
  });
});

describe('formatting', () => {
  it('formats waits and sizes', () => {
    expect(formatWait(29.2)).toBe('30 s');
    expect(formatWait(125)).toBe('2 min 5 s');
    expect(formatWait(900)).toBe('15 min');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatBytes(null)).toBe('—');
  });
});
