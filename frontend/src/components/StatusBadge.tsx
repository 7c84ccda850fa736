import { Badge } from './ui';

/** An execution status as a coloured badge. */
export function StatusBadge({ status }: { status: string }) {
  const tone =
    status === 'Success' ? 'success' : status === 'Failed' ? 'danger' : status === 'Partial' ? 'warn' : status === 'Running' ? 'info' : 'neutral';
  return (
    <Badge tone={tone} data-testid="execution-status">
      {status}
    </Badge>
  );
}
