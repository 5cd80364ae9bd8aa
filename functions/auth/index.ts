/** Token authentication for the registry: what entry points (npm start, Lambda, the CLI) import. */
export { createTokenAuthorizer } from './authorizer';
export { TOKEN_PATH, type TokenAuthOptions } from './token-auth';
export { KeySet } from './keyset';
export { MemoryAttemptCounter, type AttemptCounter, type LoginLimits } from './login-throttle';
export * from './identity-store';
export * from './grants';
export { hashSecret, verifySecret, generateSecret } from './secret-hash';
export { compileRule, RuleSyntaxError } from './claim-rules';
