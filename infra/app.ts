import { App, Validations } from 'aws-cdk-lib';
import { AwsSolutionsChecks } from 'cdk-nag';
import { registryPropsFromContext, stackNameFromContext } from './context';
import { RegistryStack } from './registry-stack';

/**
 * `npx cdk synth` / `npx cdk deploy` entry (see cdk.json). Environment-agnostic unless the
 * CLI supplies an account and region, so synth needs no AWS credentials. cdk-nag's
 * AwsSolutions pack runs on every synth: a new finding fails it.
 */
const app = new App();
const account = process.env.CDK_DEFAULT_ACCOUNT;
const region = process.env.CDK_DEFAULT_REGION;
new RegistryStack(app, stackNameFromContext(app.node), {
  ...(account && region ? { env: { account, region } } : {}),
  registry: registryPropsFromContext(app.node),
});
Validations.of(app).addPlugins(new AwsSolutionsChecks(app, { verbose: true }));
app.synth();
