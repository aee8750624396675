/**
 * The `rollout` queue's catalogue (issue 16): the worker's rollout tick. Its producer and consumer
 * are the status module's RolloutProcessor (the scheduler) and anything that wants a rollout looked
 * at sooner (`rollout-advance`, e.g. after status reports). Plain data: no module imports.
 */
export const ROLLOUT_QUEUE = 'rollout';

export type RolloutJob =
  /** Scheduled: time and gates of every progressing rollout. */
  | { name: 'rollout-tick'; data: Record<string, never> }
  /** Soon after something a gate reads changed (deduplicated per deployment). */
  | { name: 'rollout-advance'; data: { deploymentId: string } };

export type RolloutJobName = RolloutJob['name'];
