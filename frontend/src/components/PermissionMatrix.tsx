import { Checkbox } from './ui';
import { permissionMatrix, togglePermission } from '../lib/permissions';
import { humanize } from '../lib/schemaForm';

/** A resource × action grid of checkboxes. `grantable` limits what may be switched on. */
export function PermissionMatrix({
  value,
  onChange,
  grantable,
  readOnly,
}: {
  value: string[];
  onChange: (v: string[]) => void;
  grantable: readonly string[];
  readOnly?: boolean;
}) {
  const rows = permissionMatrix();
  return (
    <div className="overflow-x-auto">
      <table className="text-sm" aria-label="Permissions">
        <tbody>
          {rows.map((r) => (
            <tr key={r.resource} className="border-b border-border">
              <th scope="row" className="py-1.5 pr-4 text-left font-medium">
                {humanize(r.resource)}
              </th>
              {r.actions.map((a) => {
                const perm = `${r.resource}:${a}`;
                const checked = value.includes(perm);
                const allowed = !readOnly && (checked || grantable.includes(perm));
                return (
                  <td key={a} className="py-1.5 pr-4">
                    <label className="inline-flex items-center gap-1.5 whitespace-nowrap">
                      <Checkbox
                        checked={checked}
                        disabled={!allowed}
                        aria-label={perm}
                        onCheckedChange={(c) => onChange(togglePermission(value, perm, c === true))}
                      />
                      {humanize(a)}
                    </label>
                  </td>
                );
              })}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
