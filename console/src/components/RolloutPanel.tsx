import { Badge, Code, Group, Progress, Stack, Table, Text } from '@mantine/core';
import { useQuery, useQueryClient } from '@tanstack/react-query';
import { call } from '../api';
import { usePermission, useSession } from '../session';
import { ConfirmButton } from './Confirm';
import { when } from './Page';
import { ProblemAlert } from './Problem';

type Action = 'approve' | 'pause' | 'resume' | 'abort' | 'rollback';

const ACTIONS: { action: Action; label: string; color: string; message: string }[] = [
  { action: 'approve', label: 'Approve next wave', color: 'green', message: 'The next wave starts now.' },
  { action: 'pause', label: 'Pause', color: 'yellow', message: 'No further wave starts until resumed.' },
  {
    action: 'resume',
    label: 'Resume',
    color: 'indigo',
    message: 'The rollout continues with its next wave.',
  },
  {
    action: 'abort',
    label: 'Abort',
    color: 'red',
    message: 'The rollout stops; devices keep what they run now.',
  },
  {
    action: 'rollback',
    label: 'Roll back',
    color: 'red',
    message: 'Every device of the rollout goes back to the previous revision.',
  },
];

/** A deployment's staged rollout: waves with their progress, thresholds, canary, and the operator's controls. */
export function RolloutPanel(props: { deploymentId: string }) {
  const { api } = useSession();
  const queries = useQueryClient();
  const can = usePermission('operator');
  const id = props.deploymentId;
  const view = useQuery({
    queryKey: ['deployment', id, 'rollout'],
    queryFn: () => call(api.GET('/operator/v1/deployments/{id}/rollout', { params: { path: { id } } })),
  });
  const act = (action: Action) =>
    call(
      api.POST('/operator/v1/deployments/{id}/rollout/{action}', { params: { path: { id, action } } }),
    ).then(() => queries.invalidateQueries({ queryKey: ['deployment', id] }));
  const rollout = view.data?.rollout;
  if (view.error) return <ProblemAlert error={view.error} />;
  if (!view.data) return null;
  return (
    <Stack data-testid="rollout">
      <Text size="sm">
        Revision {view.data.revision}
        {view.data.stableRevision !== null && ` · stable revision ${view.data.stableRevision}`}
      </Text>
      {!rollout && <Text size="sm">No rollout: changes reach every target at once.</Text>}
      {rollout && (
        <>
          <Group gap="xs">
            <Badge variant="light" data-testid="rollout-state">
              {rollout.state}
            </Badge>
            <Text size="sm">
              revision {rollout.fromRevision ?? '—'} → {rollout.toRevision} · wave {rollout.currentWave + 1}{' '}
              of {rollout.waveCount} · success ≥ {rollout.policy.successThreshold}, failures ≤{' '}
              {rollout.policy.failureThreshold} · approval {rollout.policy.approval}
            </Text>
          </Group>
          {rollout.reason && (
            <Text size="sm" data-testid="rollout-reason">
              Reason: {rollout.reason}
            </Text>
          )}
          {rollout.canary !== undefined && rollout.canary !== null && (
            <Text size="sm">
              Canary device classes: <Code>{JSON.stringify(rollout.canary)}</Code>
            </Text>
          )}
          <Group gap="xs">
            {ACTIONS.map((a) => (
              <ConfirmButton
                key={a.action}
                label={a.label}
                color={a.color}
                title={`${a.label}?`}
                message={a.message}
                disabledReason={can.allowed ? undefined : can.reason}
                onConfirm={() => act(a.action)}
              />
            ))}
          </Group>
          <Table data-testid="waves">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Wave</Table.Th>
                <Table.Th>Progress</Table.Th>
                <Table.Th>Members</Table.Th>
                <Table.Th>Outcome</Table.Th>
                <Table.Th>Started</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {rollout.waves.map((w) => {
                const c = w.counts;
                const pct = (n: number) => (c.members > 0 ? (100 * n) / c.members : 0);
                return (
                  <Table.Tr key={w.index}>
                    <Table.Td>{w.index + 1}</Table.Td>
                    <Table.Td miw={180}>
                      <Progress.Root
                        size="lg"
                        aria-label={`Wave ${w.index + 1}: ${c.inSync} of ${c.members} in sync`}
                      >
                        <Progress.Section value={pct(c.inSync)} color="green" />
                        <Progress.Section value={pct(c.failed)} color="red" />
                      </Progress.Root>
                      <Text size="xs">
                        {c.inSync} in sync, {c.failed} failed of {c.members}
                        {c.inDowntime > 0 && `, ${c.inDowntime} in a downtime window`}
                      </Text>
                    </Table.Td>
                    <Table.Td>{w.size}</Table.Td>
                    <Table.Td>{w.outcome ?? '—'}</Table.Td>
                    <Table.Td>{when(w.startedAt)}</Table.Td>
                  </Table.Tr>
                );
              })}
            </Table.Tbody>
          </Table>
          <Text size="xs">
            History:{' '}
            {rollout.actions
              .map((a) => `${when(a.at)} ${a.action} by ${a.actor} (${a.fromState} → ${a.toState})`)
              .join('; ')}
          </Text>
        </>
      )}
    </Stack>
  );
}
