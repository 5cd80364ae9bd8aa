/**
 * What task-queue.ts needs of the Lambda SDK, as a module of its own: it is loaded with
 * `await import()`, and a dynamic import of '@aws-sdk/client-lambda' itself would keep
 * every command of the client in the bundle.
 */
export { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
