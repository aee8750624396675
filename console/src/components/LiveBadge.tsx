import { Badge } from '@mantine/core';

export function LiveBadge(props: { open: boolean }) {
  return (
    <Badge color={props.open ? 'green.9' : 'gray.7'} variant="light" data-testid="live" data-open={props.open}>
      {props.open ? 'live' : 'connecting…'}
    </Badge>
  );
}
