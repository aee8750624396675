import { Alert, List, Text } from '@mantine/core';
import { ProblemError } from '../api';

/** An error as the service explained it: the problem's title, its `detail`, and the fields it names. */
export function ProblemAlert(props: { error: unknown; title?: string }) {
  const { error } = props;
  if (!error) return null;
  const problem =
    error instanceof ProblemError
      ? error
      : new ProblemError(
          0,
          'Unexpected error',
          error instanceof Error ? error.message : typeof error === 'string' ? error : '',
        );
  return (
    <Alert color="red" title={props.title ?? problem.title} role="alert" data-testid="problem">
      {problem.detail && <Text size="sm">{problem.detail}</Text>}
      {problem.errors.length > 0 && (
        <List size="sm" mt="xs">
          {problem.errors.map((e) => (
            <List.Item key={`${e.field}:${e.message}`}>
              <Text span ff="monospace" size="sm">
                {e.field || '/'}
              </Text>{' '}
              {e.message}
            </List.Item>
          ))}
        </List>
      )}
    </Alert>
  );
}
