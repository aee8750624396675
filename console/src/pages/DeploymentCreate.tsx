import {
  Alert,
  Button,
  Card,
  Group,
  List,
  SegmentedControl,
  Select,
  Stack,
  Text,
  Textarea,
  TextInput,
} from '@mantine/core';
import { useDebouncedValue } from '@mantine/hooks';
import { useMutation, useQuery } from '@tanstack/react-query';
import { type FormEvent, useMemo, useState } from 'react';
import { useNavigate } from 'react-router';
import { call, ProblemError, type Schemas } from '../api';
import { DisabledReason } from '../components/Confirm';
import { Page } from '../components/Page';
import { ProblemAlert } from '../components/Problem';
import { parseLabels } from '../paths';
import { usePermission, useSession } from '../session';

type CreateBody = Schemas['DeploymentCreateDto'];

export default function DeploymentCreate() {
  const { api } = useSession();
  const navigate = useNavigate();
  const canCreate = usePermission('operator');
  const packages = useQuery({
    queryKey: ['packages', 'all'],
    queryFn: () => call(api.GET('/operator/v1/applications', { params: { query: { limit: 200 } } })),
  });
  const [pkgKey, setPkgKey] = useState<string | null>(null);
  const [kind, setKind] = useState<'selector' | 'device'>('selector');
  const [labels, setLabels] = useState('');
  const [selectorClient, setSelectorClient] = useState('');
  const [clientId, setClientId] = useState('');
  const [deviceId, setDeviceId] = useState('');
  const [profileId, setProfileId] = useState<string | null>(null);
  const [parameters, setParameters] = useState('{}');
  const [onLoss, setOnLoss] = useState<'keep' | 'remove'>('keep');

  const pkg = packages.data?.items.find((p) => `${p.applicationId}@${p.version}` === pkgKey);
  const parsedParameters = useMemo((): { value?: Record<string, unknown>; error?: string } => {
    try {
      const value: unknown = JSON.parse(parameters || '{}');
      if (!value || typeof value !== 'object' || Array.isArray(value)) return { error: 'an object' };
      return { value: value as Record<string, unknown> };
    } catch (e) {
      return { error: e instanceof Error ? e.message : 'not JSON' };
    }
  }, [parameters]);

  const body: CreateBody | null = pkg
    ? {
        applicationId: pkg.applicationId,
        version: pkg.version,
        ...(profileId ? { profileId } : {}),
        parameters: parsedParameters.value ?? {},
        onCapabilityLoss: onLoss,
        target:
          kind === 'selector'
            ? {
                selector: {
                  matchLabels: parseLabels(labels),
                  ...(selectorClient.trim() ? { clientId: selectorClient.trim() } : {}),
                },
              }
            : { clientId: clientId.trim(), deviceId: deviceId.trim() },
      }
    : null;
  const [previewBody] = useDebouncedValue(body && kind === 'selector' ? JSON.stringify(body) : null, 400);
  const preview = useQuery({
    queryKey: ['deployment-preview', previewBody],
    enabled: !!previewBody,
    retry: false,
    queryFn: () =>
      call(
        api.POST('/operator/v1/deployments/preview', {
          body: JSON.parse(previewBody!) as CreateBody,
        }),
      ),
  });
  const create = useMutation({
    mutationFn: (b: CreateBody) => call(api.POST('/operator/v1/deployments', { body: b })),
    onSuccess: (created) => void navigate(`/deployments/${created.id}`),
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (body && !parsedParameters.error) create.mutate(body);
  };
  const p = preview.data;
  return (
    <Page title="New deployment" error={packages.error}>
      <form onSubmit={submit} aria-label="New deployment">
        <Stack maw={720}>
          <Select
            label="Package version"
            placeholder="Choose an application and version"
            data={(packages.data?.items ?? []).map((item) => ({
              value: `${item.applicationId}@${item.version}`,
              label: `${item.name} (${item.applicationId}) ${item.version}`,
            }))}
            value={pkgKey}
            onChange={(v) => {
              setPkgKey(v);
              setProfileId(null);
            }}
            searchable
            required
          />
          <Select
            label="Deployment profile"
            description="Leave empty to let placement choose the first profile that fits each device"
            data={(pkg?.profiles ?? []).map((profile) => ({
              value: profile.id,
              label: `${profile.id} (${profile.type})`,
            }))}
            value={profileId}
            onChange={setProfileId}
            clearable
          />
          <div>
            <Text size="sm" fw={500} id="target-kind">
              Target
            </Text>
            <SegmentedControl
              aria-labelledby="target-kind"
              value={kind}
              onChange={(v) => setKind(v)}
              data={[
                { value: 'selector', label: 'Devices by selector' },
                { value: 'device', label: 'One device' },
              ]}
            />
          </div>
          {kind === 'selector' ? (
            <Group grow align="flex-start">
              <TextInput
                label="Match labels"
                description="key=value, comma-separated; empty matches every device"
                placeholder="line=paint"
                value={labels}
                onChange={(e) => setLabels(e.currentTarget.value)}
              />
              <TextInput
                label="Only client (optional)"
                value={selectorClient}
                onChange={(e) => setSelectorClient(e.currentTarget.value)}
              />
            </Group>
          ) : (
            <Group grow>
              <TextInput
                label="Client id"
                value={clientId}
                onChange={(e) => setClientId(e.currentTarget.value)}
                required
              />
              <TextInput
                label="Device id"
                value={deviceId}
                onChange={(e) => setDeviceId(e.currentTarget.value)}
                required
              />
            </Group>
          )}
          <Textarea
            label="Parameters (JSON)"
            description={pkg ? `The package's parameters: ${pkg.parameters.join(', ') || 'none'}` : undefined}
            value={parameters}
            onChange={(e) => setParameters(e.currentTarget.value)}
            error={parsedParameters.error ? `Not a JSON object: ${parsedParameters.error}` : undefined}
            autosize
            minRows={3}
            styles={{ input: { fontFamily: 'var(--mantine-font-family-monospace)' } }}
          />
          <Select
            label="When a device stops matching"
            data={[
              { value: 'keep', label: 'keep it running' },
              { value: 'remove', label: 'remove it' },
            ]}
            value={onLoss}
            onChange={(v) => setOnLoss((v as 'keep' | 'remove') ?? 'keep')}
            allowDeselect={false}
          />
          {kind === 'selector' && (
            <Card withBorder data-testid="preview" aria-live="polite">
              <Text size="sm" fw={500}>
                Preview
              </Text>
              {!previewBody && <Text size="sm">Choose a package version to see which devices match.</Text>}
              {preview.isFetching && <Text size="sm">Checking…</Text>}
              {preview.error && (
                <ProblemAlert
                  error={preview.error instanceof ProblemError ? preview.error : preview.error}
                  title="No preview"
                />
              )}
              {p && !preview.isFetching && (
                <>
                  <Text size="sm" data-testid="preview-summary">
                    Matches {p.matched.toLocaleString()} device{p.matched === 1 ? '' : 's'};{' '}
                    {p.placeable.toLocaleString()} placeable
                    {p.notPlaceable > 0 && `; ${p.notPlaceable.toLocaleString()} not placeable`}
                    {p.sampled && ` (decided for the first ${p.decided.toLocaleString()})`}
                  </Text>
                  {p.reasons.length > 0 && (
                    <List size="sm">
                      {p.reasons.map((r) => (
                        <List.Item key={r.reason}>
                          {r.count.toLocaleString()} because {r.reason}
                        </List.Item>
                      ))}
                    </List>
                  )}
                  {p.sample.length > 0 && (
                    <Text size="xs" c="dimmed">
                      e.g.{' '}
                      {p.sample
                        .slice(0, 5)
                        .map(
                          (s) =>
                            `${s.clientId}/${s.deviceId} (${s.placeable ? 'placeable' : 'not placeable'})`,
                        )
                        .join(', ')}
                    </Text>
                  )}
                </>
              )}
            </Card>
          )}
          <ProblemAlert error={create.error} title="The deployment was not created" />
          {!canCreate.allowed && (
            <Alert color="gray">
              <DisabledReason reason={canCreate.reason} />
            </Alert>
          )}
          <Group>
            <Button type="submit" loading={create.isPending} disabled={!canCreate.allowed || !body}>
              Create deployment
            </Button>
          </Group>
        </Stack>
      </form>
    </Page>
  );
}
