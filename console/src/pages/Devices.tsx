import { Anchor, Badge, Button, Group, Select, Table, Text, TextInput } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { Link } from 'react-router';
import { call } from '../api';
import { LiveBadge } from '../components/LiveBadge';
import { Page, when } from '../components/Page';
import { Pager, useCursorPager } from '../components/Pager';
import { useLiveRefresh } from '../live';
import { devicePath } from '../paths';
import { useSession } from '../session';

interface Filters {
  label: string;
  architecture: string;
  minCores: string;
  minMemory: string;
  parent: string;
  clientId: string;
  lastSeenAfter: string;
}

const EMPTY: Filters = {
  label: '',
  architecture: '',
  minCores: '',
  minMemory: '',
  parent: '',
  clientId: '',
  lastSeenAfter: '',
};
const PAGE_SIZE = 50;

export default function Devices() {
  const { api } = useSession();
  const [draft, setDraft] = useState<Filters>(EMPTY);
  const [filters, setFilters] = useState<Filters>(EMPTY);
  const pager = useCursorPager(JSON.stringify(filters));
  const labels = filters.label
    .split(',')
    .map((l) => l.trim())
    .filter(Boolean);
  const list = useQuery({
    queryKey: ['devices', filters, pager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/devices', {
          params: {
            query: {
              limit: PAGE_SIZE,
              ...(pager.after ? { after: pager.after } : {}),
              ...(labels.length ? { label: labels } : {}),
              ...(filters.architecture
                ? { architecture: filters.architecture as 'amd64' | 'arm64' | 'arm' }
                : {}),
              ...(filters.minCores ? { minCores: Number(filters.minCores) } : {}),
              ...(filters.minMemory ? { minMemory: filters.minMemory } : {}),
              ...(filters.parent ? { parent: filters.parent } : {}),
              ...(filters.clientId ? { clientId: filters.clientId } : {}),
              ...(filters.lastSeenAfter
                ? { lastSeenAfter: new Date(filters.lastSeenAfter).toISOString() }
                : {}),
            },
          },
        }),
      ),
  });
  const live = useLiveRefresh({}, [['devices']]);
  const set = (name: keyof Filters) => (value: string) => setDraft((d) => ({ ...d, [name]: value }));
  const apply = (event: FormEvent) => {
    event.preventDefault();
    setFilters(draft);
  };
  return (
    <Page title="Devices" actions={<LiveBadge open={live} />} error={list.error}>
      <form onSubmit={apply} aria-label="Device filters">
        <Group align="flex-end" gap="xs" wrap="wrap">
          <TextInput
            label="Labels"
            placeholder="line=paint, site=berlin"
            value={draft.label}
            onChange={(e) => set('label')(e.currentTarget.value)}
          />
          <Select
            label="Architecture"
            data={['amd64', 'arm64', 'arm']}
            clearable
            value={draft.architecture || null}
            onChange={(v) => set('architecture')(v ?? '')}
            w={130}
          />
          <TextInput
            label="Min. cores"
            inputMode="numeric"
            value={draft.minCores}
            onChange={(e) => set('minCores')(e.currentTarget.value)}
            w={100}
          />
          <TextInput
            label="Min. memory"
            placeholder="8Gi"
            value={draft.minMemory}
            onChange={(e) => set('minMemory')(e.currentTarget.value)}
            w={110}
          />
          <TextInput
            label="Parent device"
            value={draft.parent}
            onChange={(e) => set('parent')(e.currentTarget.value)}
            w={140}
          />
          <TextInput
            label="Client"
            value={draft.clientId}
            onChange={(e) => set('clientId')(e.currentTarget.value)}
            w={160}
          />
          <TextInput
            label="Seen after"
            type="datetime-local"
            value={draft.lastSeenAfter}
            onChange={(e) => set('lastSeenAfter')(e.currentTarget.value)}
            w={200}
          />
          <Button type="submit">Filter</Button>
          <Button
            variant="default"
            onClick={() => {
              setDraft(EMPTY);
              setFilters(EMPTY);
            }}
          >
            Clear
          </Button>
        </Group>
      </form>
      <Table.ScrollContainer minWidth={760} type="native" tabIndex={0}>
        <Table striped highlightOnHover data-testid="devices-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Device</Table.Th>
              <Table.Th>Client</Table.Th>
              <Table.Th>Architecture</Table.Th>
              <Table.Th>Cores</Table.Th>
              <Table.Th>Memory</Table.Th>
              <Table.Th>Labels</Table.Th>
              <Table.Th>Last seen</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((d) => (
              <Table.Tr key={`${d.clientId}/${d.deviceId}`}>
                <Table.Td>
                  <Anchor component={Link} to={devicePath(d.clientId, d.deviceId)}>
                    {d.deviceId}
                  </Anchor>
                  {d.parentDeviceId && (
                    <Text size="xs" c="dimmed">
                      behind {d.parentDeviceId}
                    </Text>
                  )}
                </Table.Td>
                <Table.Td>{d.clientId}</Table.Td>
                <Table.Td>{d.architectures.join(', ') || '—'}</Table.Td>
                <Table.Td>{d.maxCores}</Table.Td>
                <Table.Td>{d.memory ?? '—'}</Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {Object.entries(d.labels as Record<string, unknown>).map(([k, v]) => (
                      <Badge key={k} variant="outline" color="gray" tt="none">
                        {k}={String(v)}
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>{when(d.lastReportedAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.data?.items.length === 0 && <Text size="sm">No device matches.</Text>}
      <Pager pager={pager} next={list.data?.next} label="Device" />
    </Page>
  );
}
