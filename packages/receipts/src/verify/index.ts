export { ChainVerifier, verifyLines } from './verify-chain';
export type { VerifyMode, VerifyOptions, VerifyReport } from './options';
