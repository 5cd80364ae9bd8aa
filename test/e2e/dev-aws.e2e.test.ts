import { devAwsTarget } from '../support/dev-aws-target';
import { defineRegistryE2E } from './registry-e2e';

// The deployed path offline: the real Lambda handler behind the API Gateway stand-in
// (`npm run dev:aws`), on DynamoDB Local and the S3 emulator, ephemeral port.
defineRegistryE2E(devAwsTarget());
