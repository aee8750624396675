import {
  Alert,
  Badge,
  Button,
  Code,
  CopyButton,
  Group,
  Select,
  Stack,
  Table,
  Text,
  TextInput,
} from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { call, type Role } from '../api';
import { ConfirmButton, DisabledReason } from '../components/Confirm';
import { Page, when } from '../components/Page';
import { Pager, useCursorPager } from '../components/Pager';
import { ProblemAlert } from '../components/Problem';
import { usePermission, useSession } from '../session';

export default function Tokens() {
  const { api, me } = useSession();
  const can = usePermission('admin');
  const queries = useQueryClient();
  const pager = useCursorPager('tokens');
  const list = useQuery({
    queryKey: ['tokens', pager.after],
    enabled: can.allowed,
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/tokens', {
          params: { query: { limit: 50, ...(pager.after ? { after: pager.after } : {}) } },
        }),
      ),
  });
  const [name, setName] = useState('');
  const [role, setRole] = useState<Role>('viewer');
  const create = useMutation({
    mutationFn: () => call(api.POST('/operator/v1/tokens', { body: { name: name.trim(), role } })),
    onSuccess: async () => {
      setName('');
      await queries.invalidateQueries({ queryKey: ['tokens'] });
    },
  });
  const revoke = (id: string) =>
    call(api.DELETE('/operator/v1/tokens/{id}', { params: { path: { id } } })).then(() =>
      queries.invalidateQueries({ queryKey: ['tokens'] }),
    );
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (name.trim()) create.mutate();
  };
  return (
    <Page title="Operator tokens" error={list.error}>
      {!can.allowed && (
        <Alert color="gray" title="Tokens are managed by admins">
          <DisabledReason reason={can.reason} />
        </Alert>
      )}
      <form onSubmit={submit} aria-label="Create a token">
        <Group align="flex-end">
          <TextInput
            label="Name"
            value={name}
            onChange={(e) => setName(e.currentTarget.value)}
            disabled={!can.allowed}
            w={240}
          />
          <Select
            label="Role"
            data={['viewer', 'operator', 'admin']}
            value={role}
            onChange={(v) => setRole((v as Role) ?? 'viewer')}
            allowDeselect={false}
            disabled={!can.allowed}
            w={140}
          />
          <Button type="submit" disabled={!can.allowed || !name.trim()} loading={create.isPending}>
            Create token
          </Button>
        </Group>
      </form>
      <ProblemAlert error={create.error} title="The token was not created" />
      {create.data && (
        <Alert color="yellow" title={`Token ${create.data.name} created`} data-testid="new-token">
          <Stack gap="xs">
            <Text size="sm">Copy it now: it is shown only once and cannot be read back.</Text>
            <Group>
              <Code data-testid="new-token-secret">{create.data.token}</Code>
              <CopyButton value={create.data.token}>
                {({ copied, copy }) => (
                  <Button size="xs" variant="default" onClick={copy}>
                    {copied ? 'Copied' : 'Copy'}
                  </Button>
                )}
              </CopyButton>
            </Group>
          </Stack>
        </Alert>
      )}
      {can.allowed && (
        <Table.ScrollContainer minWidth={700} type="native" tabIndex={0}>
          <Table striped data-testid="tokens-table">
            <Table.Thead>
              <Table.Tr>
                <Table.Th>Name</Table.Th>
                <Table.Th>Role</Table.Th>
                <Table.Th>Prefix</Table.Th>
                <Table.Th>Created</Table.Th>
                <Table.Th>Last used</Table.Th>
                <Table.Th>Status</Table.Th>
              </Table.Tr>
            </Table.Thead>
            <Table.Tbody>
              {list.data?.items.map((t) => (
                <Table.Tr key={t.id} data-testid={`token-${t.name}`}>
                  <Table.Td>{t.name}</Table.Td>
                  <Table.Td>{t.role}</Table.Td>
                  <Table.Td>
                    <Text size="xs" ff="monospace">
                      {t.prefix}
                    </Text>
                  </Table.Td>
                  <Table.Td>{when(t.createdAt)}</Table.Td>
                  <Table.Td>{when(t.lastUsedAt)}</Table.Td>
                  <Table.Td>
                    {t.revokedAt ? (
                      <Badge color="gray" variant="light">
                        revoked {when(t.revokedAt)}
                      </Badge>
                    ) : (
                      <ConfirmButton
                        label="Revoke"
                        title={`Revoke ${t.name}?`}
                        message={
                          t.id === me.tokenId
                            ? 'This is the token you are signed in with: the console signs you out.'
                            : 'Requests with this token are refused from now on, and its open event streams end.'
                        }
                        onConfirm={() => revoke(t.id)}
                      />
                    )}
                  </Table.Td>
                </Table.Tr>
              ))}
            </Table.Tbody>
          </Table>
        </Table.ScrollContainer>
      )}
      {can.allowed && <Pager pager={pager} next={list.data?.next} label="Token" />}
    </Page>
  );
}
