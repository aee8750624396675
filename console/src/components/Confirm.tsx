import { Button, Group, Modal, Stack, Text } from '@mantine/core';
import { type ReactNode, useState } from 'react';
import { ProblemAlert } from './Problem';

/**
 * A destructive action's button: it opens a dialog that names what happens and runs `onConfirm`
 * only after the operator confirms; an error stays in the dialog with the problem's detail.
 */
export function ConfirmButton(props: {
  label: string;
  title: string;
  message: ReactNode;
  confirmLabel?: string;
  onConfirm: () => Promise<unknown>;
  disabledReason?: string;
  color?: string;
  size?: string;
  variant?: string;
}) {
  const [opened, setOpened] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const disabled = !!props.disabledReason;
  const run = async () => {
    setBusy(true);
    setError(null);
    try {
      await props.onConfirm();
      setOpened(false);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button
        color={props.color ?? 'red'}
        variant={props.variant ?? 'light'}
        size={props.size ?? 'xs'}
        disabled={disabled}
        title={props.disabledReason || undefined}
        onClick={() => setOpened(true)}
      >
        {props.label}
      </Button>
      {disabled && <DisabledReason reason={props.disabledReason!} />}
      <Modal opened={opened} onClose={() => setOpened(false)} title={props.title} centered>
        <Stack>
          <Text size="sm">{props.message}</Text>
          <ProblemAlert error={error} />
          <Group justify="flex-end">
            <Button variant="default" onClick={() => setOpened(false)}>
              Cancel
            </Button>
            <Button color={props.color ?? 'red'} loading={busy} onClick={() => void run()}>
              {props.confirmLabel ?? props.label}
            </Button>
          </Group>
        </Stack>
      </Modal>
    </>
  );
}

/** Why an action is disabled, readable by screen readers too (not only in a tooltip). */
export function DisabledReason(props: { reason: string }) {
  return (
    <Text size="xs" c="dimmed" span ml={4}>
      {props.reason}
    </Text>
  );
}
