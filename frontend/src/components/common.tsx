import { useState, type ReactNode } from 'react';
import { ApiError, detailsText } from '../api/client';
import { Button, Dialog } from './ui';
import { formatWait } from '../lib/utils';

/** The server's `{error, details}` (or any error) as an alert. */
export function ErrorAlert({ error, className }: { error: unknown; className?: string }) {
  if (!error) return null;
  let title = 'Something went wrong';
  let more: string | null = null;
  if (error instanceof ApiError) {
    title = error.message;
    if (error.status === 403 && !/permission|forbidden|refused/i.test(title)) title = `Not allowed: ${title}`;
    if (error.retryAfterSecs !== null) more = `Try again in ${formatWait(error.retryAfterSecs)}.`;
    else more = detailsText(error.details);
  } else if (error instanceof Error) {
    title = error.message;
  }
  return (
    <div
      role="alert"
      className={`rounded-md border border-red-300 bg-red-50 px-3 py-2 text-sm text-red-800 dark:border-red-800 dark:bg-red-950/50 dark:text-red-200 ${className ?? ''}`}
    >
      <p className="font-medium">{title}</p>
      {more && <p className="mt-0.5 text-xs">{more}</p>}
    </div>
  );
}

/** Loading / error / "API not available yet" states of a query; renders children when loaded. */
export function QueryState({
  query,
  what,
  children,
}: {
  query: { isPending: boolean; error: unknown };
  what: string;
  children: ReactNode;
}) {
  if (query.error instanceof ApiError && query.error.notAvailable) return <NotAvailable what={what} />;
  if (query.error instanceof ApiError && query.error.status === 403)
    return <Empty title={`You may not view ${what}`}>Ask an administrator for the permission.</Empty>;
  if (query.error) return <ErrorAlert error={query.error} />;
  if (query.isPending)
    return (
      <div className="animate-pulse space-y-2" aria-busy="true" aria-label="Loading">
        <div className="h-8 rounded bg-subtle" />
        <div className="h-8 rounded bg-subtle" />
        <div className="h-8 rounded bg-subtle" />
      </div>
    );
  return <>{children}</>;
}

export function NotAvailable({ what }: { what: string }) {
  return (
    <Empty title="API not available yet" testId="api-unavailable">
      This server does not offer {what} yet. The page works as soon as the API is deployed.
    </Empty>
  );
}

export function Empty({ title, children, testId }: { title: string; children?: ReactNode; testId?: string }) {
  return (
    <div data-testid={testId} className="rounded-lg border border-dashed border-border p-8 text-center">
      <p className="font-medium">{title}</p>
      {children && <p className="mt-1 text-sm text-muted">{children}</p>}
    </div>
  );
}

/** A button that asks before a destructive action, then runs it (showing its error). */
export function ConfirmButton({
  label,
  title,
  description,
  confirmLabel = 'Delete',
  onConfirm,
  size = 'sm',
  variant = 'danger',
  disabled,
}: {
  label: string;
  title: string;
  description: string;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  size?: 'sm' | 'md';
  variant?: 'danger' | 'secondary' | 'ghost';
  disabled?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  return (
    <>
      <Button size={size} variant={variant} disabled={disabled} onClick={() => (setError(null), setOpen(true))}>
        {label}
      </Button>
      <Dialog open={open} onOpenChange={setOpen} title={title} description={description}>
        <ErrorAlert error={error} className="mb-3" />
        <div className="flex justify-end gap-2">
          <Button variant="secondary" onClick={() => setOpen(false)}>
            Cancel
          </Button>
          <Button
            variant="danger"
            disabled={busy}
            onClick={async () => {
              setBusy(true);
              setError(null);
              try {
                await onConfirm();
                setOpen(false);
              } catch (e) {
                setError(e);
              } finally {
                setBusy(false);
              }
            }}
          >
            {confirmLabel}
          </Button>
        </div>
      </Dialog>
    </>
  );
}

/** "Load more" paging for cursor lists. */
export function LoadMore({ hasMore, loading, onClick }: { hasMore: boolean; loading: boolean; onClick: () => void }) {
  if (!hasMore) return null;
  return (
    <div className="mt-3 flex justify-center">
      <Button variant="secondary" disabled={loading} onClick={onClick}>
        {loading ? 'Loading…' : 'Load more'}
      </Button>
    </div>
  );
}
