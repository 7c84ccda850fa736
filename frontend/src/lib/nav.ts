import type { Permission } from '../api/types';

/** One entry of the sidebar; shown when the user holds any of `anyOf` (or always if empty). */
export interface NavItem {
  to: string;
  label: string;
  anyOf: Permission[];
  section: 'main' | 'admin';
}

export const NAV: NavItem[] = [
  { to: '/dashboard', label: 'Dashboard', anyOf: [], section: 'main' },
  { to: '/sources', label: 'Sources', anyOf: ['sources:read'], section: 'main' },
  { to: '/destinations', label: 'Destinations', anyOf: ['destinations:read'], section: 'main' },
  { to: '/notifications', label: 'Notifications', anyOf: ['notifications:read'], section: 'main' },
  { to: '/jobs', label: 'Jobs', anyOf: ['jobs:read'], section: 'main' },
  { to: '/history', label: 'History', anyOf: ['history:read'], section: 'main' },
  { to: '/storage', label: 'Storage', anyOf: ['storage:read'], section: 'main' },
  { to: '/vault', label: 'Vault', anyOf: ['vault:read'], section: 'main' },
  { to: '/users', label: 'Users & groups', anyOf: ['users:read', 'groups:read'], section: 'admin' },
  { to: '/api-keys', label: 'API keys', anyOf: ['api-keys:read'], section: 'admin' },
  { to: '/audit', label: 'Audit log', anyOf: ['audit:read'], section: 'admin' },
  { to: '/settings', label: 'Settings', anyOf: ['settings:read'], section: 'admin' },
  { to: '/workers', label: 'Workers', anyOf: ['settings:read'], section: 'admin' },
  { to: '/sso-providers', label: 'SSO providers', anyOf: ['settings:write'], section: 'admin' },
];

/** The entries a holder of `perms` may see. */
export function visibleNav(perms: readonly string[]): NavItem[] {
  const held = new Set(perms);
  return NAV.filter((n) => n.anyOf.length === 0 || n.anyOf.some((p) => held.has(p)));
}
