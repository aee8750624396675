import { Badge } from '@mantine/core';

export function LiveBadge(props: { open: boolean }) {
  return (
    <Badge color={props.open ? 'green' : 'gray'} variant="light" data-testid="live" data-open={props.open}>
      {props.open ? 'live' : 'connecting…'}
    </Badge>
  );
}
