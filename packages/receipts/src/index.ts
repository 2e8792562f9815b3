export { ReceiptsError, ReceiptsErrorCode } from './errors';
export { canonicalize, isCanonical } from './canonical';
export { leafHash, nodeHash, genesisHash, sha256Hex } from './hash';
export {
  pae,
  RECEIPT_PAYLOAD_TYPE,
  MANIFEST_PAYLOAD_TYPE,
  signBytes,
  verifyBytes,
  publicKeyFromRaw,
} from './signature';
export { SigningKey, Keyring, keyIdOf } from './keys';
export type { TrustedKey } from './keys';
export { CompactRange, EMPTY_ROOT, subtreeRoot, inclusionProof, verifyInclusion } from './merkle';
export { emptyHead, appendReceipt } from './chain';
export type { ChainHead, AppendOptions, Appended } from './chain';
export {
  checkpointOf,
  signCheckpoint,
  parseCheckpoint,
  noteWithin,
  checkpointSignatureProblem,
  originOf,
  noteKeyName,
  noteKeyHash,
} from './checkpoint';
export type { Checkpoint, SignedCheckpoint, NoteSignature } from './checkpoint';
export { IssueCode, formatIssue } from './issues';
export type { VerifyIssue } from './issues';
export { ChainVerifier, verifyLines } from './verify';
export type { VerifyMode, VerifyOptions, VerifyReport } from './verify';
export {
  writeArchive,
  writeArchiveFile,
  verifyArchive,
  verifyArchiveFile,
  archiveRecords,
  archiveExtras,
  ARCHIVE_FORMAT,
} from './archive';
export type {
  ArchiveInput,
  ArchiveManifest,
  ArchiveReport,
  ArchiveWritten,
  ArchiveVerifyOptions,
} from './archive';
export { rotateKey } from './rotation';
export type { Rotation } from './rotation';
export { sampleFields } from './sample';
export { splitLines, OVERSIZE_LINE, MAX_LINE_BYTES } from './lines';
export { DEFAULT_LIMITS, resolveLimits } from './limits';
export type { VerifyLimits } from './limits';
