export { writeArchive, writeArchiveFile } from './build';
export type { ArchiveInput, ArchiveWritten } from './build';
export { verifyArchive, verifyArchiveFile } from './validate';
export type { ArchiveReport, ArchiveVerifyOptions } from './validate';
export { archiveRecords, archiveExtras } from './extract';
export { ARCHIVE_FORMAT } from './serialized';
export type { ArchiveManifest } from './serialized';
