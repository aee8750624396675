import { Badge, Button, Code, FileButton, Group, Modal, Stack, Table, Text } from '@mantine/core';
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { call, type Schemas } from '../api';
import { ConfirmButton, DisabledReason } from '../components/Confirm';
import { Page, when } from '../components/Page';
import { Pager, useCursorPager } from '../components/Pager';
import { ProblemAlert } from '../components/Problem';
import { usePermission, useSession } from '../session';

type Package = Schemas['PackageDto'];

export default function Packages() {
  const { api } = useSession();
  const queries = useQueryClient();
  const canPublish = usePermission('operator');
  const pager = useCursorPager('packages');
  const [shown, setShown] = useState<Package | null>(null);
  const list = useQuery({
    queryKey: ['packages', pager.after],
    placeholderData: keepPreviousData,
    queryFn: () =>
      call(
        api.GET('/operator/v1/applications', {
          params: { query: { limit: 50, ...(pager.after ? { after: pager.after } : {}) } },
        }),
      ),
  });
  const publish = useMutation({
    mutationFn: async (file: File) =>
      call(
        api.POST('/operator/v1/applications', {
          body: await file.text(),
          bodySerializer: (body: string) => body,
          headers: { 'content-type': 'application/yaml' },
        }),
      ),
    onSuccess: () => queries.invalidateQueries({ queryKey: ['packages'] }),
  });
  const remove = (p: Package) =>
    call(
      api.DELETE('/operator/v1/applications/{applicationId}/versions/{version}', {
        params: { path: { applicationId: p.applicationId, version: p.version } },
      }),
    ).then(() => queries.invalidateQueries({ queryKey: ['packages'] }));

  return (
    <Page
      title="Packages"
      error={list.error}
      actions={
        <>
          <FileButton onChange={(file) => file && publish.mutate(file)} accept=".yaml,.yml,application/yaml">
            {(props) => (
              <Button {...props} loading={publish.isPending} disabled={!canPublish.allowed}>
                Upload margo.yaml
              </Button>
            )}
          </FileButton>
          {!canPublish.allowed && <DisabledReason reason={canPublish.reason} />}
        </>
      }
    >
      <ProblemAlert error={publish.error} title="The package was not published" />
      {publish.data && (
        <Text size="sm" role="status" data-testid="published">
          Published {publish.data.applicationId} {publish.data.version}.
        </Text>
      )}
      <Table.ScrollContainer minWidth={700} type="native" tabIndex={0}>
        <Table striped data-testid="packages-table">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Application</Table.Th>
              <Table.Th>Version</Table.Th>
              <Table.Th>Profiles</Table.Th>
              <Table.Th>Deployments</Table.Th>
              <Table.Th>Published</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {list.data?.items.map((p) => (
              <Table.Tr key={p.id}>
                <Table.Td>
                  <Text size="sm" fw={500}>
                    {p.name}
                  </Text>
                  <Text size="xs" c="dimmed">
                    {p.applicationId}
                  </Text>
                </Table.Td>
                <Table.Td>{p.version}</Table.Td>
                <Table.Td>
                  <Group gap={4}>
                    {p.profiles.map((profile) => (
                      <Badge key={profile.id} variant="light" tt="none">
                        {profile.id} ({profile.type})
                      </Badge>
                    ))}
                  </Group>
                </Table.Td>
                <Table.Td>{p.deployments}</Table.Td>
                <Table.Td>{when(p.createdAt)}</Table.Td>
                <Table.Td>
                  <Group gap="xs">
                    <Button size="xs" variant="default" onClick={() => setShown(p)}>
                      Details
                    </Button>
                    <ConfirmButton
                      label="Delete"
                      title={`Delete ${p.applicationId} ${p.version}?`}
                      message={
                        p.deployments > 0
                          ? `${p.deployments} deployment(s) use this version; the service refuses to delete it while they do.`
                          : 'The version is removed from the catalog. Devices keep nothing of it.'
                      }
                      disabledReason={canPublish.allowed ? undefined : canPublish.reason}
                      onConfirm={() => remove(p)}
                    />
                  </Group>
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      </Table.ScrollContainer>
      {list.data?.items.length === 0 && <Text size="sm">No package yet: upload a margo.yaml.</Text>}
      <Pager pager={pager} next={list.data?.next} label="Package" />
      <Modal opened={!!shown} onClose={() => setShown(null)} title={shown?.name} size="lg">
        {shown && (
          <Stack>
            <Text size="sm">{shown.description}</Text>
            <Text size="sm">Parameters: {shown.parameters.join(', ') || 'none'}</Text>
            <Code block>{JSON.stringify(shown.document, null, 2)}</Code>
          </Stack>
        )}
      </Modal>
    </Page>
  );
}
