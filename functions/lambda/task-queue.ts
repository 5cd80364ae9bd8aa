import { InvokeCommand, type LambdaClient } from '@aws-sdk/client-lambda';
import type { RegistryTask, TaskQueue } from '../core/index';

/** The event a task Lambda receives. */
export interface TaskEvent {
  nimbusTask: RegistryTask;
}

/**
 * Hands registry tasks (verifying a direct upload) to another function, asynchronously:
 * Lambda queues the event, retries it twice on failure, and the API request returns at once.
 */
export function lambdaTaskQueue(client: LambdaClient, functionName: string): TaskQueue {
  return {
    async enqueue(task) {
      const event: TaskEvent = { nimbusTask: task };
      await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }));
    },
  };
}

export function isTaskEvent(event: unknown): event is TaskEvent {
  const task = (event as Partial<TaskEvent> | undefined)?.nimbusTask;
  return typeof task === 'object' && task !== null && task.type === 'verify-direct-upload' && typeof task.upload === 'string';
}
