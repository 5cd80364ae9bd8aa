/**
 * PLACEHOLDER written by the infra change of issue 10, so that the stack's `webFunction`
 * upload endpoint kind has an entry to bundle (infra/constructs/web-function-code.ts). The
 * real entry (the upload server listening on AWS_LAMBDA_HTTP_ENDPOINT, with the settings of
 * functions/upload-server/settings.ts) comes from the runtime change of the same issue and
 * replaces this file whole. Until then a deployed web function refuses to start, loudly.
 */
console.error('nimbus upload endpoint (web function): this build carries the placeholder entry; deploy a build with functions/upload-server/web-function.ts');
process.exit(1);
