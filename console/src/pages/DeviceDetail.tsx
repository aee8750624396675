import { Anchor, Card, Code, SimpleGrid, Table, Tabs, Text } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link, useParams } from 'react-router';
import { call } from '../api';
import { LabelEditor } from '../components/LabelEditor';
import { Page, when } from '../components/Page';
import { devicePath } from '../paths';
import { useSession } from '../session';

interface Change {
  field?: string;
  from?: unknown;
  to?: unknown;
}

function show(value: unknown): string {
  if (value === undefined || value === null) return '—';
  return typeof value === 'string' ? value : JSON.stringify(value);
}

export default function DeviceDetail() {
  const { api } = useSession();
  const { clientId = '', deviceId = '' } = useParams();
  const device = useQuery({
    queryKey: ['device', clientId, deviceId],
    queryFn: () =>
      call(
        api.GET('/operator/v1/devices/{clientId}/{deviceId}', {
          params: { path: { clientId, deviceId } },
        }),
      ),
  });
  const d = device.data;
  return (
    <Page title={`Device ${deviceId}`} loading={device.isPending} error={device.error}>
      {d && (
        <>
          <Text size="sm">
            Client {d.clientId} ({d.clientProfile}) · capability version {d.capabilityVersion} · first
            reported {when(d.firstReportedAt)} · last reported {when(d.lastReportedAt)}
            {d.recomputePending && ' · placement recomputation pending'}
          </Text>
          <SimpleGrid cols={{ base: 1, sm: 2, lg: 4 }}>
            <Card withBorder>
              <Text size="xs" c="dimmed">
                Hardware
              </Text>
              <Text size="sm">
                {d.vendor} {d.modelNumber}
              </Text>
              <Text size="sm">Serial {d.serialNumber}</Text>
            </Card>
            <Card withBorder>
              <Text size="xs" c="dimmed">
                Compute
              </Text>
              <Text size="sm">
                {d.architectures.join(', ') || 'no architecture'} · up to {d.maxCores} cores
              </Text>
              <Text size="sm">
                Memory {d.memory ?? '—'} · storage {d.storage ?? '—'}
              </Text>
            </Card>
            <Card withBorder>
              <Text size="xs" c="dimmed">
                Runs
              </Text>
              <Text size="sm">Deployment types: {d.deploymentTypes.join(', ') || '—'}</Text>
              <Text size="sm">Runtimes: {d.runtimes.join(', ') || '—'}</Text>
            </Card>
            <Card withBorder>
              <Text size="xs" c="dimmed">
                Peripherals and interfaces
              </Text>
              <Text size="sm">{[...d.peripheralTypes, ...d.interfaceTypes].join(', ') || '—'}</Text>
            </Card>
          </SimpleGrid>
          <LabelEditor device={d} />
          {d.parentDeviceId && (
            <Text size="sm">
              Behind gateway{' '}
              <Anchor component={Link} to={devicePath(d.clientId, d.parentDeviceId)}>
                {d.parentDeviceId}
              </Anchor>
            </Text>
          )}
          <Tabs defaultValue="history">
            <Tabs.List>
              <Tabs.Tab value="history">History</Tabs.Tab>
              <Tabs.Tab value="document">Last document</Tabs.Tab>
              <Tabs.Tab value="children">Children ({d.children.length})</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="history" pt="sm">
              <Table data-testid="device-history">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>When</Table.Th>
                    <Table.Th>Version</Table.Th>
                    <Table.Th>Kind</Table.Th>
                    <Table.Th>Changes</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {d.history.map((h) => (
                    <Table.Tr key={h.capabilityVersion}>
                      <Table.Td>{when(h.at)}</Table.Td>
                      <Table.Td>{h.capabilityVersion}</Table.Td>
                      <Table.Td>{h.kind}</Table.Td>
                      <Table.Td>
                        {(h.changes as Change[]).map((c, i) => (
                          <Text key={i} size="xs" ff="monospace">
                            {c.field}: {show(c.from)} → {show(c.to)}
                          </Text>
                        ))}
                      </Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Tabs.Panel>
            <Tabs.Panel value="document" pt="sm">
              <Code block data-testid="device-document">
                {JSON.stringify(d.document, null, 2)}
              </Code>
            </Tabs.Panel>
            <Tabs.Panel value="children" pt="sm">
              {d.children.length === 0 && <Text size="sm">No device behind this one.</Text>}
              {d.children.map((child) => (
                <Text key={child} size="sm">
                  <Anchor component={Link} to={devicePath(d.clientId, child)}>
                    {child}
                  </Anchor>
                </Text>
              ))}
            </Tabs.Panel>
          </Tabs>
        </>
      )}
    </Page>
  );
}
