import { describe, expect, it } from 'vitest';
import type { AdapterType } from '../api/types';
import { PERMISSIONS } from '../api/types';
import { visibleNav } from './nav';
import { permissionMatrix, togglePermission } from './permissions';
import { fieldsOf, humanize, initialValues, SECRET_MASK, secretsToReenter, toConfig, type ObjectValue } from './schemaForm';
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

  // The `ssh` object of a database source, as shared/adapters/src/registry.rs describes it.
  const withSsh: AdapterType = {
    ...postgres,
    secretFields: ['password', 'ssh'],
    schema: {
      ...postgres.schema,
      properties: {
        host: { type: 'string', 'x-binds-secrets': true },
        user: { type: 'string' },
        password: { type: 'string', writeOnly: true, 'x-secret': true },
        ssh: {
          type: 'object',
          'x-binds-secrets': true,
          properties: {
            host: { type: 'string', format: 'hostname' },
            port: { type: 'integer', minimum: 1, maximum: 65535, default: 22 },
            user: { type: 'string' },
            password: { type: 'string', writeOnly: true, 'x-secret': true },
            privateKey: { type: 'string', format: 'textarea', writeOnly: true, 'x-secret': true },
            passphrase: { type: 'string', writeOnly: true, 'x-secret': true },
            hostKey: { type: 'string' },
          },
          required: ['host', 'user', 'hostKey'],
          anyOf: [{ required: ['password'] }, { required: ['privateKey'] }],
        } as AdapterType['schema'],
      },
    },
  };

  it('makes the ssh object a sub-form: off by default, a private key or a password', () => {
    const ssh = fieldsOf(withSsh).find((f) => f.name === 'ssh');
    expect(ssh?.kind).toBe('object');
    expect(ssh?.choices).toEqual(['password', 'privateKey']);
    expect(ssh?.fields?.map((f) => [f.name, f.kind, f.required, f.secret])).toEqual([
      ['host', 'text', true, false],
      ['port', 'number', false, false],
      ['user', 'text', true, false],
      ['password', 'password', false, true],
      ['privateKey', 'textarea', false, true],
      ['passphrase', 'password', false, true],
      ['hostKey', 'text', true, false],
    ]);
    const fresh = initialValues(withSsh);
    expect(fresh.ssh).toEqual({
      enabled: false,
      choice: 'privateKey',
      values: { host: '', port: '', user: '', password: '', privateKey: '', passphrase: '', hostKey: '' },
    });
    // Off: no ssh key at all (the dump runs where the worker is).
    expect(toConfig(withSsh, { ...fresh, host: 'db', user: 'u' }).config).toEqual({ host: 'db', user: 'u' });
    // On: the required keys are named under the sub-form; the key (not the password) is asked for.
    const on = { ...fresh, host: 'db', user: 'u', ssh: { ...(fresh.ssh as ObjectValue), enabled: true } };
    expect(toConfig(withSsh, on).errors).toEqual({
      'ssh.host': 'required',
      'ssh.user': 'required',
      'ssh.privateKey': 'required',
      'ssh.hostKey': 'required',
    });
    const key = '-----BEGIN OPENSSH PRIVATE KEY-----\nabc\n-----END OPENSSH PRIVATE KEY-----\n';
    const filled = {
      ...on,
      ssh: {
        enabled: true,
        choice: 'privateKey',
        values: { host: 'db.example', port: '', user: 'backup', password: 'ignored', privateKey: key, passphrase: '', hostKey: 'ssh-ed25519 AAAA' },
      },
    };
    const { config, errors } = toConfig(withSsh, filled);
    expect(errors).toEqual({});
    // The key exactly as pasted (its last newline too); the unchosen password and an empty port
    // (the server's default, 22) left out.
    expect(config.ssh).toEqual({ host: 'db.example', user: 'backup', privateKey: key, hostKey: 'ssh-ed25519 AAAA' });
    // A password instead: the key and its passphrase are not sent.
    const pw = toConfig(withSsh, { ...filled, ssh: { ...filled.ssh, choice: 'password', values: { ...filled.ssh.values, port: '2222', passphrase: 'p' } } });
    expect(pw.config.ssh).toEqual({ host: 'db.example', port: 2222, user: 'backup', password: 'ignored', hostKey: 'ssh-ed25519 AAAA' });
  });

  it('keeps a stored ssh host as stored: masked secrets sent back, moving it asks for them again', () => {
    const stored = {
      host: '127.0.0.1',
      user: 'postgres',
      password: SECRET_MASK,
      ssh: { host: 'db.example', port: 22, user: 'root', privateKey: SECRET_MASK, hostKey: 'SHA256:abc' },
    };
    const initial = initialValues(withSsh, stored);
    expect(initial.ssh).toEqual({
      enabled: true,
      choice: 'privateKey',
      values: { host: 'db.example', port: '22', user: 'root', password: '', privateKey: SECRET_MASK, passphrase: '', hostKey: 'SHA256:abc' },
    });
    // Unchanged: sent back as stored, nothing to enter again.
    expect(toConfig(withSsh, initial).config).toEqual(stored);
    expect(secretsToReenter(withSsh, initial, initial)).toEqual({});
    // Another SSH host: the API would refuse both kept secrets (the database password travels there).
    const ssh = initial.ssh as ObjectValue;
    const moved = { ...initial, ssh: { ...ssh, values: { ...ssh.values, host: 'evil.example' } } };
    expect(secretsToReenter(withSsh, initial, moved)).toEqual({
      password: 'enter it again: SSH changed',
      'ssh.privateKey': 'enter it again: SSH changed',
    });
    // Turned off: only the database password is kept, and ssh's removal changes what binds it.
    expect(secretsToReenter(withSsh, initial, { ...initial, ssh: { ...ssh, enabled: false } })).toEqual({
      password: 'enter it again: SSH changed',
    });
  });

  it('edits a list as rows: commas stay inside an entry, empty rows are dropped', () => {
    const files: AdapterType = {
      id: 'files',
      type: 'database',
      name: 'Files',
      schema: {
        type: 'object',
        required: ['paths'],
        properties: {
          paths: { type: 'array', items: { type: 'string' }, pattern: '^/' } as AdapterType['schema'],
          excludes: { type: 'array', items: { type: 'string' } },
        },
      },
    };
    const v = initialValues(files);
    expect(v).toEqual({ paths: [''], excludes: [''] });
    expect(toConfig(files, v).errors).toEqual({ paths: 'required' });
    const { config } = toConfig(files, { paths: ['/srv/a, b', ' ', '/srv/c '], excludes: ['*.log', ''] });
    expect(config).toEqual({ paths: ['/srv/a, b', '/srv/c'], excludes: ['*.log'] });
    expect(initialValues(files, { paths: ['/x'] })).toEqual({ paths: ['/x'], excludes: [''] });
  });

  it('humanizes names', () => {
    expect(humanize('privateKey')).toBe('Private key');
    expect(humanize('base_path')).toBe('Base path');
    expect(humanize('ssh')).toBe('SSH');
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
