import { Badge, Button, Group, Stack, Table, Text, TextInput, Title } from '@mantine/core';
import { useMutation, useQueryClient } from '@tanstack/react-query';
import { type FormEvent, useState } from 'react';
import { call, type Schemas } from '../api';
import { usePermission, useSession } from '../session';
import { ConfirmButton, DisabledReason } from './Confirm';
import { when } from './Page';
import { ProblemAlert } from './Problem';

type Device = Schemas['DeviceDetailDto'];

/** A label value as typed: numbers and booleans keep their type, anything else is a string. */
function parseValue(raw: string): string | number | boolean {
  const text = raw.trim();
  if (text === 'true' || text === 'false') return text === 'true';
  return /^-?\d+(\.\d+)?$/.test(text) ? Number(text) : text;
}

/**
 * A device's effective labels (reported by the device, or set by an operator, which wins), and the
 * operator labels with who set them: set one (JSON Merge Patch of the operator labels) or remove it.
 */
export function LabelEditor(props: { device: Device }) {
  const { api } = useSession();
  const queries = useQueryClient();
  const can = usePermission('operator');
  const { device } = props;
  const [key, setKey] = useState('');
  const [value, setValue] = useState('');
  const patch = (body: Record<string, string | number | boolean | null>) =>
    call(
      api.PATCH('/operator/v1/devices/{clientId}/{deviceId}/labels', {
        params: {
          path: { clientId: device.clientId, deviceId: device.deviceId },
          query: { profile: device.clientProfile },
        },
        body,
      }),
    ).then(() => queries.invalidateQueries({ queryKey: ['device', device.clientId, device.deviceId] }));
  const set = useMutation({ mutationFn: () => patch({ [key.trim()]: parseValue(value) }) });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (key.trim()) {
      set.mutate(undefined, {
        onSuccess: () => {
          setKey('');
          setValue('');
        },
      });
    }
  };
  const sources = (device.labelSources ?? {}) as Record<string, string>;
  return (
    <Stack gap="xs">
      <Title order={3} size="h5">
        Labels
      </Title>
      <Group gap={4} data-testid="device-labels">
        {Object.entries(device.labels as Record<string, unknown>).map(([k, v]) => (
          <Badge key={k} variant="outline" color={sources[k] === 'operator' ? 'indigo' : 'gray'} tt="none">
            {k}={String(v)}
            {sources[k] === 'operator' ? ' (operator)' : ''}
          </Badge>
        ))}
        {Object.keys(device.labels).length === 0 && <Text size="sm">none</Text>}
      </Group>
      {device.operatorLabels.length > 0 && (
        <Table data-testid="operator-labels">
          <Table.Thead>
            <Table.Tr>
              <Table.Th>Operator label</Table.Th>
              <Table.Th>Value</Table.Th>
              <Table.Th>Set by</Table.Th>
              <Table.Th>Actions</Table.Th>
            </Table.Tr>
          </Table.Thead>
          <Table.Tbody>
            {device.operatorLabels.map((l) => (
              <Table.Tr key={l.key}>
                <Table.Td>{l.key}</Table.Td>
                <Table.Td>{JSON.stringify(l.value)}</Table.Td>
                <Table.Td>
                  {l.setBy} {when(l.setAt)}
                </Table.Td>
                <Table.Td>
                  <ConfirmButton
                    label="Remove"
                    title={`Remove the label ${l.key}?`}
                    message="Deployments whose selectors match on it are recomputed for this device."
                    disabledReason={can.allowed ? undefined : can.reason}
                    onConfirm={() => patch({ [l.key]: null })}
                  />
                </Table.Td>
              </Table.Tr>
            ))}
          </Table.Tbody>
        </Table>
      )}
      <form onSubmit={submit} aria-label="Set a label">
        <Group align="flex-end" gap="xs">
          <TextInput label="Label key" value={key} onChange={(e) => setKey(e.currentTarget.value)} w={180} />
          <TextInput label="Value" value={value} onChange={(e) => setValue(e.currentTarget.value)} w={180} />
          <Button type="submit" disabled={!can.allowed || !key.trim()} loading={set.isPending}>
            Set label
          </Button>
          {!can.allowed && <DisabledReason reason={can.reason} />}
        </Group>
      </form>
      <ProblemAlert error={set.error} title="The label was not set" />
    </Stack>
  );
}
