import { Group, Loader, Stack, Title } from '@mantine/core';
import type { ReactNode } from 'react';
import { ProblemAlert } from './Problem';

/** A page's frame: its heading, actions, and the loading or error state of its main query. */
export function Page(props: {
  title: string;
  actions?: ReactNode;
  loading?: boolean;
  error?: unknown;
  children?: ReactNode;
}) {
  return (
    <Stack gap="md">
      <Group justify="space-between" wrap="wrap">
        <Title order={2}>{props.title}</Title>
        {props.actions && <Group gap="xs">{props.actions}</Group>}
      </Group>
      <ProblemAlert error={props.error} />
      {props.loading ? <Loader aria-label="Loading" /> : props.children}
    </Stack>
  );
}

export function when(value: string | null | undefined): string {
  if (!value) return '—';
  const d = new Date(value);
  return Number.isNaN(d.getTime()) ? value : d.toLocaleString();
}
