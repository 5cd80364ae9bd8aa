import type { LambdaClient, LambdaClientConfig } from '@aws-sdk/client-lambda';
import type { RegistryTask, TaskQueue } from '../core/index';

/** The event a task Lambda receives. */
export interface TaskEvent {
  nimbusTask: RegistryTask;
}

/**
 * Hands registry tasks (verifying a direct upload) to another function, asynchronously:
 * Lambda queues the event, retries it twice on failure, and the API request returns at once.
 * The Lambda client loads with the first task, not during the cold start (most requests
 * enqueue nothing), and is reused after.
 */
export function lambdaTaskQueue(functionName: string, clientConfig: LambdaClientConfig = {}): TaskQueue {
  let sdk: Promise<{ client: LambdaClient; InvokeCommand: typeof import('./lambda-invoke').InvokeCommand }> | undefined;
  return {
    async enqueue(task) {
      sdk ??= import('./lambda-invoke').then(({ LambdaClient, InvokeCommand }) => ({ client: new LambdaClient(clientConfig), InvokeCommand }));
      const { client, InvokeCommand } = await sdk;
      const event: TaskEvent = { nimbusTask: task };
      await client.send(new InvokeCommand({ FunctionName: functionName, InvocationType: 'Event', Payload: new TextEncoder().encode(JSON.stringify(event)) }));
    },
  };
}

export function isTaskEvent(event: unknown): event is TaskEvent {
  const task = (event as Partial<TaskEvent> | undefined)?.nimbusTask;
  return typeof task === 'object' && task !== null && task.type === 'verify-direct-upload' && typeof task.upload === 'string';
}
