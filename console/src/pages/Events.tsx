import { Badge, Button, Code, Group, Select, Table, Text, TextInput } from '@mantine/core';
import { useState } from 'react';
import { KNOWN_TYPES, type OperatorEvent, type StreamFilter, useEventStream } from '../events';
import { LiveBadge } from '../components/LiveBadge';
import { Page, when } from '../components/Page';

const KEEP = 500;

export default function Events() {
  const [draft, setDraft] = useState<StreamFilter>({});
  const [filter, setFilter] = useState<StreamFilter>({});
  const [events, setEvents] = useState<OperatorEvent[]>([]);
  const [paused, setPaused] = useState(false);
  const open = useEventStream(filter, (event) => {
    if (!paused) setEvents((list) => [event, ...list].slice(0, KEEP));
  });
  return (
    <Page title="Events" actions={<LiveBadge open={open} />}>
      <form
        aria-label="Event filters"
        onSubmit={(e) => {
          e.preventDefault();
          setEvents([]);
          setFilter({ ...draft });
        }}
      >
        <Group align="flex-end" gap="xs">
          <Select
            label="Type"
            data={KNOWN_TYPES}
            value={draft.type ?? null}
            onChange={(v) => setDraft((d) => ({ ...d, type: v ?? undefined }))}
            clearable
            w={200}
          />
          <TextInput
            label="Client"
            value={draft.clientId ?? ''}
            onChange={(e) => setDraft((d) => ({ ...d, clientId: e.currentTarget.value || undefined }))}
          />
          <TextInput
            label="Deployment"
            value={draft.deploymentId ?? ''}
            onChange={(e) => setDraft((d) => ({ ...d, deploymentId: e.currentTarget.value || undefined }))}
          />
          <Button type="submit">Apply</Button>
          <Button variant="default" onClick={() => setPaused((p) => !p)}>
            {paused ? 'Resume' : 'Pause'}
          </Button>
          <Button variant="default" onClick={() => setEvents([])}>
            Clear
          </Button>
        </Group>
      </form>
      <Text size="sm" c="dimmed">
        New events appear at the top as they happen (the last {KEEP} are kept).
      </Text>
      <Table.ScrollContainer minWidth={760} type="native" tabIndex={0}>
        <Table data-testid="events-table" aria-live="polite">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Id</Table.Th>
              <Table.Th>At</Table.Th>
              <Table.Th>Type</Table.Th>
              <Table.Th>Client</Table.Th>
              <Table.Th>Deployment</Table.Th>
              <Table.Th>Data</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {events.map((e) => (
              <Table.Tr key={e.id}>
                <Table.Td>{e.id}</Table.Td>
                <Table.Td>{when(e.at)}</Table.Td>
                <Table.Td>
                  <Badge variant="light" tt="none">
                    {e.type}
                  </Badge>
                </Table.Td>
                <Table.Td>{e.clientId ?? ''}</Table.Td>
                <Table.Td>{e.deploymentId?.slice(0, 8) ?? ''}</Table.Td>
                <Table.Td>
                  <Code>{JSON.stringify(e.data)}</Code>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
    </Page>
  );
}
