import { Badge, Button, Group, Select, Stack, Table, Tabs, Text, TextInput, Title } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { call, type Schemas } from '../api';
import { ConfirmButton, DisabledReason } from '../components/Confirm';
import { LiveBadge } from '../components/LiveBadge';
import { Page, when } from '../components/Page';
import { Pager, useCursorPager } from '../components/Pager';
import { ProblemAlert } from '../components/Problem';
import { useLiveRefresh } from '../live';
import { usePermission, useSession } from '../session';

type Client = Schemas['ClientDto'];
type State = Client['state'];

const STATE_COLOR: Record<State, string> = {
  active: 'green',
  pending: 'yellow',
  retired: 'gray',
  rejected: 'red',
};

export default function Clients() {
  const live = useLiveRefresh({}, [['clients'], ['onboarding']]);
  return (
    <Page title="Clients & onboarding" actions={<LiveBadge open={live} />}>
      <Tabs defaultValue="onboarding">
        <Tabs.List>
          <Tabs.Tab value="onboarding">Onboarding requests</Tabs.Tab>
          <Tabs.Tab value="clients">All clients</Tabs.Tab>
        </Tabs.List>
        <Tabs.Panel value="onboarding" pt="sm">
          <Onboarding />
        </Tabs.Panel>
        <Tabs.Panel value="clients" pt="sm">
          <AllClients />
        </Tabs.Panel>
      </Tabs>
    </Page>
  );
}

function useClientActions() {
  const { api } = useSession();
  const queries = useQueryClient();
  const done = async () => {
    await queries.invalidateQueries({ queryKey: ['clients'] });
    await queries.invalidateQueries({ queryKey: ['onboarding'] });
  };
  return {
    approve: (c: Client) =>
      call(
        api.POST('/operator/v1/clients/{clientId}/approve', { params: { path: { clientId: c.clientId } } }),
      ).then(done),
    reject: (c: Client) =>
      call(
        api.POST('/operator/v1/clients/{clientId}/reject', { params: { path: { clientId: c.clientId } } }),
      ).then(done),
    retire: (c: Client) =>
      call(
        api.DELETE('/operator/v1/clients/{clientId}', {
          params: { path: { clientId: c.clientId }, query: { profile: c.profile } },
        }),
      ).then(done),
    accept: (clientId: string) =>
      call(api.PUT('/operator/v1/clients/{clientId}', { params: { path: { clientId } } })).then(done),
  };
}

function Onboarding() {
  const { api } = useSession();
  const can = usePermission('operator');
  const actions = useClientActions();
  const pager = useCursorPager('onboarding');
  const pending = useQuery({
    queryKey: ['onboarding', 'pending', pager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/onboarding-requests', {
          params: { query: { state: 'pending', limit: 50, ...(pager.after ? { after: pager.after } : {}) } },
        }),
      ),
  });
  const [acceptId, setAcceptId] = useState('');
  const accept = useMutation({ mutationFn: (id: string) => actions.accept(id) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (acceptId.trim()) accept.mutate(acceptId.trim(), { onSuccess: () => setAcceptId('') });
  };
  const disabled = can.allowed ? undefined : can.reason;
  return (
    <Stack>
      <EnrollmentRequests />
      <Title order={3} size="h5">
        Legacy onboarding requests
      </Title>
      <Text size="sm">
        Legacy clients that onboarded and wait for approval before their requests are served.
      </Text>
      <ProblemAlert error={pending.error} />
      <Table data-testid="onboarding-table">
        <Table.Thead>
          <Table.Tr>
            <Table.Th>Client</Table.Th>
            <Table.Th>Certificate</Table.Th>
            <Table.Th>Requested</Table.Th>
            <Table.Th>Actions</Table.Th>
          </Table.Tr>
        </Table.Thead>
        <Table.Tbody>
          {pending.data?.items.map((c) => (
            <Table.Tr key={c.id} data-testid={`onboarding-${c.clientId}`}>
              <Table.Td>{c.clientId}</Table.Td>
              <Table.Td>
                <Text size="xs" ff="monospace">
                  {c.certificateSubject ?? c.certificateFingerprint ?? '—'}
                </Text>
              </Table.Td>
              <Table.Td>{when(c.createdAt)}</Table.Td>
              <Table.Td>
                <Group gap="xs">
                  <ConfirmButton
                    label="Approve"
                    color="green"
                    title={`Approve ${c.clientId}?`}
                    message="The client's requests are served from now on; its devices can report and receive deployments."
                    disabledReason={disabled}
                    onConfirm={() => actions.approve(c)}
                  />
                  <ConfirmButton
                    label="Reject"
                    title={`Reject ${c.clientId}?`}
                    message="The client's requests are refused with 403. It can be approved later."
                    disabledReason={disabled}
                    onConfirm={() => actions.reject(c)}
                  />
                </Group>
              </Table.Td>
            </Table.Tr>
          ))}
        </Table.Tbody>
      </Table>
      {pending.data?.items.length === 0 && <Text size="sm">No onboarding request is waiting.</Text>}
      <Pager pager={pager} next={pending.data?.next} label="Onboarding request" />
      <Title order={3} size="h5">
        Accept an rc.3 client
      </Title>
      <form onSubmit={submit} aria-label="Accept an rc.3 client">
        <Group align="flex-end">
          <TextInput
            label="wfm-client-id"
            value={acceptId}
            onChange={(e) => setAcceptId(e.currentTarget.value)}
            w={320}
          />
          <Button type="submit" disabled={!can.allowed || !acceptId.trim()} loading={accept.isPending}>
            Accept
          </Button>
          {!can.allowed && <DisabledReason reason={can.reason} />}
        </Group>
      </form>
      <ProblemAlert error={accept.error} />
      {accept.isSuccess && (
        <Text size="sm" role="status">
          Accepted.
        </Text>
      )}
    </Stack>
  );
}

function AllClients() {
  const { api } = useSession();
  const can = usePermission('operator');
  const actions = useClientActions();
  const [state, setState] = useState<State | null>(null);
  const pager = useCursorPager(state ?? '');
  const list = useQuery({
    queryKey: ['clients', state, pager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/clients', {
          params: {
            query: { limit: 50, ...(state ? { state } : {}), ...(pager.after ? { after: pager.after } : {}) },
          },
        }),
      ),
  });
  return (
    <Stack>
      <Select
        label="State"
        data={['pending', 'active', 'retired', 'rejected']}
        value={state}
        onChange={(v) => setState(v)}
        clearable
        w={200}
      />
      <ProblemAlert error={list.error} />
      <Table.ScrollContainer minWidth={700} type="native" tabIndex={0}>
        <Table striped data-testid="clients-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Client</Table.Th>
              <Table.Th>Profile</Table.Th>
              <Table.Th>State</Table.Th>
              <Table.Th>Last seen</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((c) => (
              <Table.Tr key={c.id}>
                <Table.Td>{c.clientId}</Table.Td>
                <Table.Td>{c.profile}</Table.Td>
                <Table.Td>
                  <Badge color={STATE_COLOR[c.state]} variant="light">
                    {c.state}
                  </Badge>
                </Table.Td>
                <Table.Td>{when(c.lastSeenAt)}</Table.Td>
                <Table.Td>
                  {c.state !== 'retired' && (
                    <ConfirmButton
                      label="Retire"
                      title={`Retire ${c.clientId}?`}
                      message="Its requests are refused with 403 from now on; its devices stop receiving deployments."
                      disabledReason={can.allowed ? undefined : can.reason}
                      onConfirm={() => actions.retire(c)}
                    />
                  )}
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      <Pager pager={pager} next={list.data?.next} label="Client" />
    </Stack>
  );
}

/** rc.3 clients that presented a valid X.509-SVID with a client id the policy has not accepted yet. */
function EnrollmentRequests() {
  const { api } = useSession();
  const can = usePermission('operator');
  const queries = useQueryClient();
  const pager = useCursorPager('enrollment');
  const pending = useQuery({
    queryKey: ['onboarding', 'enrollment', pager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/enrollment-requests', {
          params: { query: { state: 'pending', limit: 50, ...(pager.after ? { after: pager.after } : {}) } },
        }),
      ),
  });
  const decide = (id: string, decision: 'approve' | 'reject') =>
    call(
      decision === 'approve'
        ? api.POST('/operator/v1/enrollment-requests/{id}/approve', { params: { path: { id } } })
        : api.POST('/operator/v1/enrollment-requests/{id}/reject', { params: { path: { id } } }),
    ).then(async () => {
      await queries.invalidateQueries({ queryKey: ['onboarding'] });
      await queries.invalidateQueries({ queryKey: ['clients'] });
    });
  const disabled = can.allowed ? undefined : can.reason;
  return (
    <Stack>
      <Title order={3} size="h5">
        rc.3 enrollment requests
      </Title>
      <Text size="sm">
        Devices with a valid certificate whose client id is not accepted yet (one request per certificate).
      </Text>
      <ProblemAlert error={pending.error} />
      <Table.ScrollContainer minWidth={700} type="native" tabIndex={0}>
        <Table data-testid="enrollment-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Client</Table.Th>
              <Table.Th>Devices</Table.Th>
              <Table.Th>Requests</Table.Th>
              <Table.Th>Last seen</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {pending.data?.items.map((r) => (
              <Table.Tr key={r.id} data-testid={`enrollment-${r.clientId}`}>
                <Table.Td>
                  {r.clientId}
                  <Text size="xs" c="dimmed" ff="monospace">
                    {r.certificateFingerprint.slice(0, 23)}…
                  </Text>
                </Table.Td>
                <Table.Td>{r.deviceIds.join(', ') || '—'}</Table.Td>
                <Table.Td>{r.requestCount}</Table.Td>
                <Table.Td>{when(r.lastSeenAt)}</Table.Td>
                <Table.Td>
                  <Group gap="xs">
                    <ConfirmButton
                      label="Approve"
                      color="green"
                      title={`Approve ${r.clientId}?`}
                      message="The client id joins the accepted-client policy: its next request succeeds."
                      disabledReason={disabled}
                      onConfirm={() => decide(r.id, 'approve')}
                    />
                    <ConfirmButton
                      label="Reject"
                      title={`Reject ${r.clientId}?`}
                      message="The client keeps getting 403; its requests are still counted."
                      disabledReason={disabled}
                      onConfirm={() => decide(r.id, 'reject')}
                    />
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {pending.data?.items.length === 0 && <Text size="sm">No enrollment request is waiting.</Text>}
      <Pager pager={pager} next={pending.data?.next} label="Enrollment request" />
    </Stack>
  );
}
