import { Button, Group, Text } from '@mantine/core';
import { useState } from 'react';

/**
 * Keyset pagination: the API answers a page and an opaque `next` cursor; going back pops the
 * cursors seen. The page size is fixed per page, so each page is one indexed range scan.
 */
export function useCursorPager(resetKey: string) {
  const [state, setState] = useState<{ key: string; stack: (string | undefined)[] }>({
    key: resetKey,
    stack: [undefined],
  });
  const stack = state.key === resetKey ? state.stack : [undefined];
  const after = stack[stack.length - 1];
  return {
    after,
    page: stack.length,
    next: (cursor: string) => setState({ key: resetKey, stack: [...stack, cursor] }),
    previous: () => setState({ key: resetKey, stack: stack.slice(0, -1) }),
    first: () => setState({ key: resetKey, stack: [undefined] }),
  };
}

export function Pager(props: {
  pager: ReturnType<typeof useCursorPager>;
  next: string | null | undefined;
  label: string;
}) {
  const { pager, next } = props;
  return (
    <Group gap="xs" mt="sm" role="navigation" aria-label={`${props.label} pages`}>
      <Button size="xs" variant="default" disabled={pager.page <= 1} onClick={pager.first}>
        First
      </Button>
      <Button size="xs" variant="default" disabled={pager.page <= 1} onClick={pager.previous}>
        Previous
      </Button>
      <Text size="sm">Page {pager.page}</Text>
      <Button size="xs" variant="default" disabled={!next} onClick={() => next && pager.next(next)}>
        Next
      </Button>
    </Group>
  );
}
