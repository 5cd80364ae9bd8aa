/**
 * What to run to add a user to a running `npm run dev:aws`: auth is always on there, as
 * when deployed, and users and grants live in its table in DynamoDB Local.
 */

/** The `npx nimbus` invocation that administers the dev registry's table. */
export function devNimbusCli(dynamodbEndpoint: string, table: string): string {
  return `npx nimbus --dynamodb-local ${dynamodbEndpoint} --table ${table}`;
}

/** Ready-to-paste commands: a user with every grant, then a login. */
export function devAdminCommands(cli: string, registryHost: string): string[] {
  return [
    `echo "$PASSWORD" | ${cli} user add admin --password-stdin`,
    `${cli} grant admin '**' pull,push,delete`,
    `docker login ${registryHost} -u admin`,
  ];
}
