import { useState, type FormEvent } from 'react';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '../api/client';
import type { Group, User } from '../api/types';
import { Badge, Button, Dialog, Field, Input, PageHeader, Select, Table, Tabs, TabsContent, TabsList, TabsTrigger, Td, Th } from '../components/ui';
import { ConfirmButton, Empty, ErrorAlert, QueryState } from '../components/common';
import { PermissionMatrix } from '../components/PermissionMatrix';
import { useCan, useSession } from '../lib/session';
import { useDateFormat } from '../lib/useDateFormat';

export default function UsersPage() {
  const canUsers = useCan('users:read');
  const canGroups = useCan('groups:read');
  return (
    <div>
      <PageHeader title="Users & groups">People who can sign in, and what their group lets them do.</PageHeader>
      <Tabs defaultValue={canUsers ? 'users' : 'groups'}>
        <TabsList>
          {canUsers && <TabsTrigger value="users">Users</TabsTrigger>}
          {canGroups && <TabsTrigger value="groups">Groups</TabsTrigger>}
        </TabsList>
        {canUsers && (
          <TabsContent value="users">
            <UsersTab />
          </TabsContent>
        )}
        {canGroups && (
          <TabsContent value="groups">
            <GroupsTab />
          </TabsContent>
        )}
      </Tabs>
    </div>
  );
}

function useGroups(enabled = true) {
  return useQuery({ queryKey: ['groups'], queryFn: api.groups, enabled });
}

function UsersTab() {
  const fmt = useDateFormat();
  const me = useSession();
  const canWrite = useCan('users:write');
  const qc = useQueryClient();
  const users = useQuery({ queryKey: ['users'], queryFn: api.users });
  const groups = useGroups(useCan('groups:read'));
  const [editing, setEditing] = useState<User | 'new' | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['users'] });
  return (
    <div>
      {canWrite && (
        <div className="mb-3 flex justify-end">
          <Button onClick={() => setEditing('new')}>Add user</Button>
        </div>
      )}
      <QueryState query={users} what="users">
        {users.data?.length === 0 ? (
          <Empty title="No users" />
        ) : (
          <Table>
            <thead>
              <tr>
                <Th>Name</Th>
                <Th>Email</Th>
                <Th>Group</Th>
                <Th>2FA</Th>
                <Th>Created</Th>
                {canWrite && <Th className="text-right">Actions</Th>}
              </tr>
            </thead>
            <tbody>
              {users.data?.map((u) => (
                <tr key={u.id} data-testid="user-row">
                  <Td className="font-medium">
                    {u.name} {u.id === me.user.id && <Badge>you</Badge>}
                  </Td>
                  <Td>{u.email}</Td>
                  <Td>{u.group ? u.group.name : <span className="text-muted">no group (no access)</span>}</Td>
                  <Td>{u.twoFactorEnabled ? <Badge tone="success">on</Badge> : <Badge>off</Badge>}</Td>
                  <Td className="whitespace-nowrap">{fmt.dateTime(u.createdAt)}</Td>
                  {canWrite && (
                    <Td className="whitespace-nowrap text-right">
                      <div className="inline-flex gap-1">
                        <Button size="sm" variant="secondary" onClick={() => setEditing(u)}>
                          Edit
                        </Button>
                        {u.twoFactorEnabled && (
                          <ConfirmButton
                            label="Reset 2FA"
                            variant="secondary"
                            title={`Reset two-factor authentication of ${u.name}?`}
                            description="They sign in with their password alone until they enrol again."
                            confirmLabel="Reset 2FA"
                            onConfirm={() => api.reset2fa(u.id).then(refresh)}
                          />
                        )}
                        {u.id !== me.user.id && (
                          <ConfirmButton
                            label="Delete"
                            title={`Delete ${u.name}?`}
                            description={`${u.email} loses access immediately. This cannot be undone.`}
                            onConfirm={() => api.deleteUser(u.id).then(refresh)}
                          />
                        )}
                      </div>
                    </Td>
                  )}
                </tr>
              ))}
            </tbody>
          </Table>
        )}
      </QueryState>
      {editing && (
        <UserDialog
          user={editing === 'new' ? null : editing}
          groups={groups.data ?? []}
          onClose={() => setEditing(null)}
          onSaved={() => {
            setEditing(null);
            refresh();
            qc.invalidateQueries({ queryKey: ['groups'] });
          }}
        />
      )}
    </div>
  );
}

function UserDialog({ user, groups, onClose, onSaved }: { user: User | null; groups: Group[]; onClose: () => void; onSaved: () => void }) {
  const [name, setName] = useState(user?.name ?? '');
  const [email, setEmail] = useState(user?.email ?? '');
  const [password, setPassword] = useState('');
  const [groupId, setGroupId] = useState(user?.groupId ?? '');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (user) await api.updateUser(user.id, { name, email, groupId: groupId || null });
      else await api.createUser({ name, email, password, groupId: groupId || null });
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog open onOpenChange={(o) => !o && onClose()} title={user ? `Edit ${user.name}` : 'Add user'}>
      <form onSubmit={submit} className="space-y-3">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} required />}</Field>
        <Field label="Email">{(id) => <Input id={id} type="email" value={email} onChange={(e) => setEmail(e.target.value)} required />}</Field>
        {!user && (
          <Field label="Initial password" hint="At least 8 characters; they can change it in their profile.">
            {(id, d) => <Input id={id} aria-describedby={d} type="password" value={password} onChange={(e) => setPassword(e.target.value)} required autoComplete="new-password" />}
          </Field>
        )}
        <Field label="Group" hint="Without a group a user can sign in but do nothing.">
          {(id, d) => (
            <Select id={id} aria-describedby={d} value={groupId} onChange={(e) => setGroupId(e.target.value)}>
              <option value="">No group</option>
              {groups.map((g) => (
                <option key={g.id} value={g.id}>
                  {g.name}
                </option>
              ))}
            </Select>
          )}
        </Field>
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            Cancel
          </Button>
          <Button type="submit" disabled={busy}>
            {user ? 'Save' : 'Create user'}
          </Button>
        </div>
      </form>
    </Dialog>
  );
}

function GroupsTab() {
  const s = useSession();
  const canWrite = useCan('groups:write');
  const qc = useQueryClient();
  const groups = useGroups();
  const [editing, setEditing] = useState<Group | 'new' | null>(null);
  const refresh = () => qc.invalidateQueries({ queryKey: ['groups'] });
  return (
    <div>
      {canWrite && (
        <div className="mb-3 flex justify-end">
          <Button onClick={() => setEditing('new')}>Add group</Button>
        </div>
      )}
      <QueryState query={groups} what="groups">
        <Table>
          <thead>
            <tr>
              <Th>Name</Th>
              <Th>Members</Th>
              <Th>Permissions</Th>
              {canWrite && <Th className="text-right">Actions</Th>}
            </tr>
          </thead>
          <tbody>
            {groups.data?.map((g) => {
              const superAdmin = g.name === 'SuperAdmin';
              return (
                <tr key={g.id}>
                  <Td className="font-medium">{g.name}</Td>
                  <Td>{g.memberCount}</Td>
                  <Td>
                    <span className="text-muted">{superAdmin ? 'all permissions' : `${g.permissions.length} permissions`}</span>
                  </Td>
                  {canWrite && (
                    <Td className="whitespace-nowrap text-right">
                      <div className="inline-flex gap-1">
                        <Button size="sm" variant="secondary" onClick={() => setEditing(g)}>
                          {superAdmin ? 'View' : 'Edit'}
                        </Button>
                        {!superAdmin && (
                          <ConfirmButton
                            label="Delete"
                            title={`Delete group ${g.name}?`}
                            description={g.memberCount ? `Its ${g.memberCount} member(s) are left without a group (no access).` : 'Nobody is in it.'}
                            onConfirm={() => api.deleteGroup(g.id).then(refresh)}
                          />
                        )}
                      </div>
                    </Td>
                  )}
                </tr>
              );
            })}
          </tbody>
        </Table>
      </QueryState>
      {editing && (
        <GroupDialog
          group={editing === 'new' ? null : editing}
          grantable={s.permissions}
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

function GroupDialog({ group, grantable, onClose, onSaved }: { group: Group | null; grantable: readonly string[]; onClose: () => void; onSaved: () => void }) {
  const readOnly = group?.name === 'SuperAdmin';
  const [name, setName] = useState(group?.name ?? '');
  const [perms, setPerms] = useState<string[]>(group?.permissions ?? []);
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      if (group) await api.updateGroup(group.id, { name, permissions: perms });
      else await api.createGroup({ name, permissions: perms });
      onSaved();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Dialog
      open
      wide
      onOpenChange={(o) => !o && onClose()}
      title={group ? `Group ${group.name}` : 'Add group'}
      description={readOnly ? 'SuperAdmin always holds every permission and cannot be changed.' : 'You can grant only permissions you hold yourself.'}
    >
      <form onSubmit={submit} className="space-y-3">
        <Field label="Name">{(id) => <Input id={id} value={name} onChange={(e) => setName(e.target.value)} required disabled={readOnly} />}</Field>
        <PermissionMatrix value={perms} onChange={setPerms} grantable={grantable} readOnly={readOnly} />
        <ErrorAlert error={error} />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={onClose}>
            {readOnly ? 'Close' : 'Cancel'}
          </Button>
          {!readOnly && (
            <Button type="submit" disabled={busy}>
              Save group
            </Button>
          )}
        </div>
      </form>
    </Dialog>
  );
}
