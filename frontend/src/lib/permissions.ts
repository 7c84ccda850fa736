import { PERMISSIONS } from '../api/types';

/** Permissions grouped by resource (`jobs:read` → row `jobs`, column `read`), in server order. */
export function permissionMatrix(all: readonly string[] = PERMISSIONS): { resource: string; actions: string[] }[] {
  const rows: { resource: string; actions: string[] }[] = [];
  for (const p of all) {
    const [resource, action] = p.split(':');
    let row = rows.find((r) => r.resource === resource);
    if (!row) rows.push((row = { resource, actions: [] }));
    row.actions.push(action ?? '');
  }
  return rows;
}

/** Toggles `perm` in `set`, keeping server order; granting write/execute/… also grants read. */
export function togglePermission(set: readonly string[], perm: string, on: boolean): string[] {
  const next = new Set(set);
  if (on) {
    next.add(perm);
    const [res, action] = perm.split(':');
    const read = `${res}:read`;
    if (action !== 'read' && (PERMISSIONS as readonly string[]).includes(read)) next.add(read);
  } else {
    next.delete(perm);
  }
  return (PERMISSIONS as readonly string[]).filter((p) => next.has(p)).concat([...next].filter((p) => !(PERMISSIONS as readonly string[]).includes(p)));
}
