import { Button, Center, Paper, PasswordInput, Stack, Text, Title } from '@mantine/core';
import { type FormEvent, useState } from 'react';
import { ProblemAlert } from '../components/Problem';
import { useAuth } from '../session';

/** Sign-in with an operator token: kept in sessionStorage for this browser session only. */
export function SignIn() {
  const { signIn } = useAuth();
  const [token, setToken] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await signIn(token);
    } catch (e) {
      setError(e);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Center mih="100vh" p="md" component="main">
      <Paper withBorder p="xl" w={440} maw="100%">
        <form onSubmit={(e) => void submit(e)}>
          <Stack>
            <Title order={1} size="h3">
              margo-wfm console
            </Title>
            <Text size="sm">
              Paste an operator token (the bootstrap admin token is in the data folder, e.g.{' '}
              <Text span ff="monospace" size="sm">
                .data/admin-token
              </Text>
              ). It is kept for this browser tab only and sent only in the Authorization header.
            </Text>
            <PasswordInput
              label="Operator token"
              value={token}
              onChange={(e) => setToken(e.currentTarget.value)}
              autoComplete="off"
              required
              data-autofocus
            />
            <ProblemAlert error={error} title="Sign-in failed" />
            <Button type="submit" loading={busy} disabled={!token.trim()}>
              Sign in
            </Button>
          </Stack>
        </form>
      </Paper>
    </Center>
  );
}
