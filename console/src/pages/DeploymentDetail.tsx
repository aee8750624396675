import { Badge, Button, Code, Group, Modal, Select, Stack, Table, Tabs, Text, Textarea } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { useNavigate, useParams } from 'react-router';
import { call, type Schemas } from '../api';
import { ConfirmButton, DisabledReason } from '../components/Confirm';
import { LiveBadge } from '../components/LiveBadge';
import { Page, when } from '../components/Page';
import { Pager, useCursorPager } from '../components/Pager';
import { ProblemAlert } from '../components/Problem';
import { RolloutPanel } from '../components/RolloutPanel';
import { useLiveRefresh } from '../live';
import { targetText } from '../paths';
import { usePermission, useSession } from '../session';

type Target = Schemas['DeploymentTargetDto'];
type Placement = NonNullable<Target['placement']>;

const STATE_COLOR: Record<string, string> = {
  'in-sync': 'green',
  installing: 'blue',
  lagging: 'yellow',
  failed: 'red',
  stale: 'orange',
};

export default function DeploymentDetail() {
  const { id = '' } = useParams();
  const { api } = useSession();
  const queries = useQueryClient();
  const navigate = useNavigate();
  const canChange = usePermission('operator');
  const [placement, setPlacement] = useState<Placement | null>(null);
  const targetsPager = useCursorPager(`${id}:${placement ?? ''}`);
  const historyPager = useCursorPager(id);
  const [overriding, setOverriding] = useState<Target | null>(null);

  const deployment = useQuery({
    queryKey: ['deployment', id],
    queryFn: () => call(api.GET('/operator/v1/deployments/{id}', { params: { path: { id } } })),
  });
  const targets = useQuery({
    queryKey: ['deployment', id, 'targets', placement, targetsPager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/deployments/{id}/targets', {
          params: {
            path: { id },
            query: {
              limit: 25,
              ...(placement ? { placement } : {}),
              ...(targetsPager.after ? { after: targetsPager.after } : {}),
            },
          },
        }),
      ),
  });
  const history = useQuery({
    queryKey: ['deployment', id, 'history', historyPager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/deployments/{id}/status-history', {
          params: {
            path: { id },
            query: { limit: 25, ...(historyPager.after ? { after: historyPager.after } : {}) },
          },
        }),
      ),
  });
  const live = useLiveRefresh({ deploymentId: id }, [['deployment', id]]);
  const d = deployment.data;
  const remove = () =>
    call(api.DELETE('/operator/v1/deployments/{id}', { params: { path: { id } } })).then(async () => {
      await queries.invalidateQueries({ queryKey: ['deployments'] });
      await navigate('/deployments');
    });

  return (
    <Page
      title={`Deployment ${id.slice(0, 8)}`}
      loading={deployment.isPending}
      error={deployment.error}
      actions={
        <>
          <LiveBadge open={live} />
          <ConfirmButton
            label="Delete deployment"
            title="Delete this deployment?"
            message="Its ApplicationDeployments leave the devices' manifests: the devices remove the application."
            disabledReason={canChange.allowed ? undefined : canChange.reason}
            onConfirm={remove}
          />
        </>
      }
    >
      {d && (
        <>
          <Text size="sm">
            {d.applicationId} {d.version} · {targetText(d.target)} · profile{' '}
            {d.profileId ?? 'chosen per device'} · revision {d.revision} · on capability loss:{' '}
            {d.onCapabilityLoss} · updated {when(d.updatedAt)}
          </Text>
          <Group gap={4}>
            {Object.entries(d.targetCounts as Record<string, number>).map(([k, v]) => (
              <Badge key={k} variant="light" tt="none" data-testid={`target-count-${k}`}>
                {k}: {v}
              </Badge>
            ))}
          </Group>
          <Tabs defaultValue="targets">
            <Tabs.List>
              <Tabs.Tab value="targets">Targets</Tabs.Tab>
              <Tabs.Tab value="parameters">Parameters</Tabs.Tab>
              <Tabs.Tab value="history">Status history</Tabs.Tab>
              <Tabs.Tab value="rollout">Rollout</Tabs.Tab>
            </Tabs.List>
            <Tabs.Panel value="rollout" pt="sm">
              <RolloutPanel deploymentId={id} />
            </Tabs.Panel>
            <Tabs.Panel value="targets" pt="sm">
              <Select
                label="Placement"
                data={['placed', 'not-placeable', 'pending-recompute', 'removed']}
                value={placement}
                onChange={(v) => setPlacement(v)}
                clearable
                w={220}
              />
              <ProblemAlert error={targets.error} />
              <Table.ScrollContainer minWidth={760} type="native" tabIndex={0}>
                <Table striped data-testid="targets-table">
                  <Table.Thead>
                    <Table.Tr>
                      <Table.Th>Device</Table.Th>
                      <Table.Th>Placement</Table.Th>
                      <Table.Th>State</Table.Th>
                      <Table.Th>Reasons</Table.Th>
                      <Table.Th>Overrides</Table.Th>
                    </Table.Tr>
                  </Table.Thead>
                  <Table.Tbody>
                    {targets.data?.items.map((t) => (
                      <Table.Tr key={`${t.clientId}/${t.deviceId}`}>
                        <Table.Td>
                          {t.clientId}/{t.deviceId}
                        </Table.Td>
                        <Table.Td>{t.placement}</Table.Td>
                        <Table.Td>
                          <Badge color={STATE_COLOR[t.derivedState ?? ''] ?? 'gray'} variant="light">
                            {t.derivedState ?? 'unknown'}
                          </Badge>
                        </Table.Td>
                        <Table.Td>
                          <Text size="xs">{t.reasons.join('; ')}</Text>
                        </Table.Td>
                        <Table.Td>
                          <Button
                            size="xs"
                            variant="default"
                            disabled={!canChange.allowed}
                            title={canChange.reason || undefined}
                            onClick={() => setOverriding(t)}
                          >
                            {t.parameters.some((p) => p.source === 'device') ? 'Edit overrides' : 'Override'}
                          </Button>
                        </Table.Td>
                      </Table.Tr>
                    ))}
                  </Table.Tbody>
                </Table>
              </Table.ScrollContainer>
              {!canChange.allowed && <DisabledReason reason={canChange.reason} />}
              <Pager pager={targetsPager} next={targets.data?.next} label="Target" />
            </Tabs.Panel>
            <Tabs.Panel value="parameters" pt="sm">
              <Table data-testid="parameters-table">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Parameter</Table.Th>
                    <Table.Th>Value</Table.Th>
                    <Table.Th>Source</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {d.effectiveParameters.map((p) => (
                    <Table.Tr key={p.name}>
                      <Table.Td>{p.name}</Table.Td>
                      <Table.Td>
                        <Code>{JSON.stringify(p.value)}</Code>
                      </Table.Td>
                      <Table.Td>{p.source}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
            </Tabs.Panel>
            <Tabs.Panel value="history" pt="sm">
              <ProblemAlert error={history.error} />
              <Table data-testid="history-table">
                <Table.Thead>
                  <Table.Tr>
                    <Table.Th>Reported</Table.Th>
                    <Table.Th>Device</Table.Th>
                    <Table.Th>State</Table.Th>
                    <Table.Th>Error</Table.Th>
                  </Table.Tr>
                </Table.Thead>
                <Table.Tbody>
                  {history.data?.items.map((s, i) => (
                    <Table.Tr key={`${s.reportedAt}/${s.clientId}/${s.deviceId}/${i}`}>
                      <Table.Td>{when(s.reportedAt)}</Table.Td>
                      <Table.Td>
                        {s.clientId}/{s.deviceId}
                      </Table.Td>
                      <Table.Td>{s.state}</Table.Td>
                      <Table.Td>{s.error ? JSON.stringify(s.error) : ''}</Table.Td>
                    </Table.Tr>
                  ))}
                </Table.Tbody>
              </Table>
              <Pager pager={historyPager} next={history.data?.next} label="Status history" />
            </Tabs.Panel>
          </Tabs>
          <OverridesDialog deploymentId={id} target={overriding} onClose={() => setOverriding(null)} />
        </>
      )}
    </Page>
  );
}

function OverridesDialog(props: { deploymentId: string; target: Target | null; onClose: () => void }) {
  const { api } = useSession();
  const queries = useQueryClient();
  const { target } = props;
  const current = Object.fromEntries(
    (target?.parameters ?? []).filter((p) => p.source === 'device').map((p) => [p.name, p.value]),
  );
  const [text, setText] = useState<string | null>(null);
  const save = useMutation({
    mutationFn: (parameters: Record<string, unknown>) =>
      call(
        api.PUT('/operator/v1/deployments/{id}/devices/{clientId}/{deviceId}/parameters', {
          params: {
            path: { id: props.deploymentId, clientId: target!.clientId, deviceId: target!.deviceId },
          },
          body: { parameters },
        }),
      ),
    onSuccess: async () => {
      await queries.invalidateQueries({ queryKey: ['deployment', props.deploymentId] });
      setText(null);
      props.onClose();
    },
  });
  const value = text ?? JSON.stringify(current, null, 2);
  let parsed: Record<string, unknown> | null = null;
  try {
    parsed = JSON.parse(value) as Record<string, unknown>;
  } catch {
    parsed = null;
  }
  return (
    <Modal
      opened={!!target}
      onClose={() => {
        setText(null);
        props.onClose();
      }}
      title={target ? `Overrides on ${target.clientId}/${target.deviceId}` : ''}
    >
      <Stack>
        <Textarea
          label="Device parameters (JSON)"
          value={value}
          onChange={(e) => setText(e.currentTarget.value)}
          autosize
          minRows={4}
          error={parsed ? undefined : 'Not valid JSON'}
        />
        <ProblemAlert error={save.error} />
        <Group justify="flex-end">
          <Button disabled={!parsed} loading={save.isPending} onClick={() => parsed && save.mutate(parsed)}>
            Save overrides
          </Button>
        </Group>
      </Stack>
    </Modal>
  );
}
