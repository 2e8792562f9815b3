import { PolicyError, PolicyErrorCode } from './errors';

const SEMVER = /^(0|[1-9]\d*)\.(0|[1-9]\d*)\.(0|[1-9]\d*)$/;

/** MAJOR.MINOR.PATCH as decimal strings, exactly as written (no leading zeros, any length). */
export interface SemverParts {
  readonly major: string;
  readonly minor: string;
  readonly patch: string;
}

/** Splits `MAJOR.MINOR.PATCH`; undefined for anything else (pre-release and build tags included). */
export function parseSemver(version: string): SemverParts | undefined {
  const m = SEMVER.exec(version);
  if (!m) return undefined;
  return { major: m[1] as string, minor: m[2] as string, patch: m[3] as string };
}

function parseOrThrow(version: string): SemverParts {
  const parts = parseSemver(version);
  if (!parts) {
    throw new PolicyError(
      PolicyErrorCode.INVALID_SEMVER,
      `not a semantic version MAJOR.MINOR.PATCH: ${JSON.stringify(version)}`,
    );
  }
  return parts;
}

// Components have no leading zeros, so a longer string is a larger number and equal lengths
// compare like numbers digit by digit: exact at any size, where Number() would round.
function compareComponent(a: string, b: string): -1 | 0 | 1 {
  if (a.length !== b.length) return a.length < b.length ? -1 : 1;
  return a === b ? 0 : a < b ? -1 : 1;
}

/**
 * Orders two versions: -1 if `a` is older, 0 if equal, 1 if newer.
 * @throws {PolicyError} `INVALID_SEMVER` if either is not MAJOR.MINOR.PATCH.
 */
export function compareSemver(a: string, b: string): -1 | 0 | 1 {
  const pa = parseOrThrow(a);
  const pb = parseOrThrow(b);
  return (
    compareComponent(pa.major, pb.major) ||
    compareComponent(pa.minor, pb.minor) ||
    compareComponent(pa.patch, pb.patch)
  );
}

/**
 * Whether `next` starts a new major line relative to `current`.
 * @throws {PolicyError} `INVALID_SEMVER` if either is not MAJOR.MINOR.PATCH.
 */
export function isMajorBump(current: string, next: string): boolean {
  return compareComponent(parseOrThrow(next).major, parseOrThrow(current).major) > 0;
}
