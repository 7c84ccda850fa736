/** Pure logic of the config-restore dry run: ordering, per-entity counts, filtering. */
import type { ConfigChangeAction, ConfigRestoreResult } from '../api/types';

export type Change = ConfigRestoreResult['changes'][number];

/**
 * The order entities are shown in (as shared/config names them: singular in changes, plural in
 * run counts; both accepted), unknown ones after.
 */
export const ENTITY_ORDER = ['setting', 'adapter', 'encryptionProfile', 'group', 'user', 'ssoProvider', 'job'];
export const ACTIONS: ConfigChangeAction[] = ['create', 'update', 'unchanged', 'skip'];

const entityRank = (e: string) => {
  const i = ENTITY_ORDER.indexOf(e.replace(/s$/, ''));
  return i === -1 ? ENTITY_ORDER.length : i;
};
const actionRank = (a: string) => {
  const i = ACTIONS.indexOf(a as ConfigChangeAction);
  return i === -1 ? ACTIONS.length : i;
};

/** Changes by entity (restore order), then action (create, update, unchanged, skip), then name. */
export function sortChanges(changes: readonly Change[]): Change[] {
  return [...changes].sort(
    (a, b) => entityRank(a.entity) - entityRank(b.entity) || a.entity.localeCompare(b.entity) || actionRank(a.action) - actionRank(b.action) || a.name.localeCompare(b.name),
  );
}

/** Per entity: how many of each action, in restore order. */
export function countsByEntity(changes: readonly Change[]): { entity: string; counts: Record<ConfigChangeAction, number> }[] {
  const by = new Map<string, Record<ConfigChangeAction, number>>();
  for (const c of sortChanges(changes)) {
    const row = by.get(c.entity) ?? { create: 0, update: 0, unchanged: 0, skip: 0 };
    if (c.action in row) row[c.action]++;
    by.set(c.entity, row);
  }
  return [...by.entries()].map(([entity, counts]) => ({ entity, counts }));
}

/** The rows to show: optionally without `unchanged`, optionally one entity. */
export function visibleChanges(changes: readonly Change[], opts: { hideUnchanged: boolean; entity?: string }): Change[] {
  return sortChanges(changes).filter((c) => (!opts.hideUnchanged || c.action !== 'unchanged') && (!opts.entity || c.entity === opts.entity));
}

/** Whether applying the restore would change anything. */
export function changesAnything(r: Pick<ConfigRestoreResult, 'counts'>): boolean {
  return (r.counts.create ?? 0) + (r.counts.update ?? 0) > 0;
}

/** "Encryption profiles" for `encryptionProfiles`. */
export function entityLabel(entity: string): string {
  const spaced = entity.replace(/([a-z])([A-Z])/g, '$1 $2').toLowerCase();
  return spaced.replace(/^sso /, 'SSO ').replace(/^./, (c) => c.toUpperCase());
}

/** The badge tone of an action. */
export function actionTone(a: string): 'success' | 'info' | 'neutral' | 'warn' {
  return a === 'create' ? 'success' : a === 'update' ? 'info' : a === 'skip' ? 'warn' : 'neutral';
}
