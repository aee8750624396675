import { Anchor, Badge, Button, Group, Table, Text } from '@mantine/core';
import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { Link } from 'react-router';
import { call } from '../api';
import { DisabledReason } from '../components/Confirm';
import { LiveBadge } from '../components/LiveBadge';
import { Page, when } from '../components/Page';
import { Pager, useCursorPager } from '../components/Pager';
import { useLiveRefresh } from '../live';
import { targetText } from '../paths';
import { usePermission, useSession } from '../session';

export default function Deployments() {
  const { api } = useSession();
  const canCreate = usePermission('operator');
  const pager = useCursorPager('deployments');
  const list = useQuery({
    queryKey: ['deployments', pager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/deployments', {
          params: { query: { limit: 50, ...(pager.after ? { after: pager.after } : {}) } },
        }),
      ),
  });
  const live = useLiveRefresh({}, [['deployments']]);
  return (
    <Page
      title="Deployments"
      error={list.error}
      actions={
        <>
          <LiveBadge open={live} />
          {canCreate.allowed ? (
            <Button component={Link} to="/deployments/new">
              New deployment
            </Button>
          ) : (
            <>
              <Button disabled>New deployment</Button>
              <DisabledReason reason={canCreate.reason} />
            </>
          )}
        </>
      }
    >
      <Table.ScrollContainer minWidth={760} type="native" tabIndex={0}>
        <Table striped data-testid="deployments-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Deployment</Table.Th>
              <Table.Th>Application</Table.Th>
              <Table.Th>Target</Table.Th>
              <Table.Th>Targets</Table.Th>
              <Table.Th>Revision</Table.Th>
              <Table.Th>Updated</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((d) => (
              <Table.Tr key={d.id}>
                <Table.Td>
                  <Anchor component={Link} to={`/deployments/${d.id}`} ff="monospace" size="sm">
                    {d.id.slice(0, 8)}
                  </Anchor>
                </Table.Td>
                <Table.Td>
                  {d.applicationId} {d.version}
                </Table.Td>
                <Table.Td>
                  <Text size="sm">{targetText(d.target)}</Text>
                </Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {Object.entries(d.targetCounts as Record<string, number>).map(([k, v]) => (
                      <Badge key={k} variant="light" tt="none" color={k === 'placed' ? 'green' : 'gray'}>
                        {k}: {v}
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>{d.revision}</Table.Td>
                <Table.Td>{when(d.updatedAt)}</Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.data?.items.length === 0 && <Text size="sm">No deployment yet.</Text>}
      <Pager pager={pager} next={list.data?.next} label="Deployment" />
    </Page>
  );
}
