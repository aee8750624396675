import { Anchor, Card, Group, SimpleGrid, Table, Text, Title } from '@mantine/core';
import { useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { call } from '../api';
import { LiveBadge } from '../components/LiveBadge';
import { Page, when } from '../components/Page';
import { ProblemAlert } from '../components/Problem';
import { useLiveRefresh } from '../live';
import { devicePath } from '../paths';
import { useSession } from '../session';

const STATES = ['in-sync', 'lagging', 'installing', 'failed', 'stale', 'unknown'] as const;

export default function Overview() {
  const { api } = useSession();
  const summary = useQuery({
    queryKey: ['status-summary'],
    queryFn: () => call(api.GET('/operator/v1/status/summary')),
  });
  const failing = useQuery({
    queryKey: ['failing'],
    queryFn: () => call(api.GET('/operator/v1/status/failing', { params: { query: { limit: 10 } } })),
  });
  const orphans = useQuery({
    queryKey: ['orphans'],
    queryFn: () => call(api.GET('/operator/v1/status/orphans', { params: { query: { limit: 10 } } })),
  });
  const pending = useQuery({
    queryKey: ['onboarding', 'pending'],
    queryFn: () =>
      call(
        api.GET('/operator/v1/onboarding-requests', { params: { query: { state: 'pending', limit: 10 } } }),
      ),
  });
  const devices = useQuery({
    queryKey: ['devices', 'overview'],
    queryFn: () => call(api.GET('/operator/v1/devices', { params: { query: { limit: 10 } } })),
  });
  const live = useLiveRefresh({}, [
    ['status-summary'],
    ['failing'],
    ['orphans'],
    ['onboarding'],
    ['devices'],
  ]);
  const overall = (summary.data?.overall ?? {}) as Record<string, number>;
  return (
    <Page title="Fleet overview" actions={<LiveBadge open={live} />} error={summary.error}>
      <SimpleGrid cols={{ base: 2, sm: 3, lg: 6 }}>
        {STATES.map((state) => (
          <Card key={state} withBorder padding="sm" data-testid={`count-${state}`}>
            <Text size="xs" c="dimmed" tt="uppercase">
              {state}
            </Text>
            <Text size="xl" fw={700}>
              {overall[state] ?? 0}
            </Text>
          </Card>
        ))}
      </SimpleGrid>
      <SimpleGrid cols={{ base: 1, md: 2 }}>
        <Card withBorder>
          <Group justify="space-between">
            <Title order={3} size="h5">
              Devices
            </Title>
            <Anchor component={Link} to="/devices" size="sm">
              All devices
            </Anchor>
          </Group>
          <ProblemAlert error={devices.error} />
          <Table data-testid="overview-devices">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Device</Table.Th>
                <Table.Th>Client</Table.Th>
                <Table.Th>Last seen</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {devices.data?.items.map((d) => (
                <Table.Tr key={`${d.clientId}/${d.deviceId}`}>
                  <Table.Td>
                    <Anchor component={Link} to={devicePath(d.clientId, d.deviceId)}>
                      {d.deviceId}
                    </Anchor>
                  </Table.Td>
                  <Table.Td>{d.clientId}</Table.Td>
                  <Table.Td>{when(d.lastReportedAt)}</Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Card>
        <Card withBorder>
          <Group justify="space-between">
            <Title order={3} size="h5">
              Clients pending approval
            </Title>
            <Anchor component={Link} to="/clients" size="sm">
              Onboarding
            </Anchor>
          </Group>
          <ProblemAlert error={pending.error} />
          {pending.data?.items.length === 0 && <Text size="sm">None.</Text>}
          {pending.data?.items.map((c) => (
            <Text key={c.id} size="sm" data-testid="pending-client">
              {c.clientId} ({c.profile}) since {when(c.createdAt)}
            </Text>
          ))}
        </Card>
        <Card withBorder>
          <Title order={3} size="h5">
            Failing targets
          </Title>
          <ProblemAlert error={failing.error} />
          {failing.data?.items.length === 0 && <Text size="sm">None.</Text>}
          {failing.data?.items.map((s) => (
            <Text key={`${s.deploymentId}/${s.clientId}/${s.deviceId}`} size="sm">
              <Anchor component={Link} to={`/deployments/${s.deploymentId}`}>
                {s.deploymentId.slice(0, 8)}
              </Anchor>{' '}
              on {s.clientId}/{s.deviceId}: {s.state}
            </Text>
          ))}
        </Card>
        <Card withBorder>
          <Title order={3} size="h5">
            Orphan reports
          </Title>
          <Text size="xs" c="dimmed">
            Status reports for deployments the service does not know.
          </Text>
          <ProblemAlert error={orphans.error} />
          {orphans.data?.items.length === 0 && <Text size="sm">None.</Text>}
          {orphans.data?.items.map((s) => (
            <Text key={`${s.deploymentId}/${s.clientId}/${s.deviceId}`} size="sm">
              {s.deploymentId} from {s.clientId}/{s.deviceId} ({when(s.reportedAt)})
            </Text>
          ))}
        </Card>
      </SimpleGrid>
    </Page>
  );
}
