import fc from 'fast-check';
import { compareSemver, isMajorBump, parseSemver, PolicyError, PolicyErrorCode } from '../index';

const component = fc.oneof(fc.nat({ max: 20 }), fc.nat());
const parts = fc.tuple(component, component, component);
const text = ([a, b, c]: [number, number, number]) => `${a}.${b}.${c}`;
const numeric = (x: [number, number, number], y: [number, number, number]) =>
  Math.sign(x[0] - y[0] || x[1] - y[1] || x[2] - y[2]);

describe('compareSemver', () => {
  it('orders by major, then minor, then patch, numerically', () => {
    expect(compareSemver('1.2.3', '1.2.3')).toBe(0);
    expect(compareSemver('1.2.3', '1.2.4')).toBe(-1);
    expect(compareSemver('1.10.0', '1.9.9')).toBe(1);
    expect(compareSemver('2.0.0', '10.0.0')).toBe(-1);
    expect(compareSemver('0.0.1', '0.0.0')).toBe(1);
  });

  it('is exact beyond Number.MAX_SAFE_INTEGER', () => {
    expect(compareSemver('1.0.9007199254740993', '1.0.9007199254740992')).toBe(1);
  });

  it('agrees with numeric comparison of the components', () => {
    fc.assert(
      fc.property(parts, parts, (x, y) => {
        expect(compareSemver(text(x), text(y))).toBe(numeric(x, y));
      }),
    );
  });

  it('is a total order: antisymmetric and transitive', () => {
    fc.assert(
      fc.property(parts, parts, parts, (x, y, z) => {
        const [a, b, c] = [text(x), text(y), text(z)];
        expect(compareSemver(a, b)).toBe(-compareSemver(b, a) || 0);
        if (compareSemver(a, b) <= 0 && compareSemver(b, c) <= 0)
          expect(compareSemver(a, c)).toBeLessThanOrEqual(0);
        expect(compareSemver(a, b) === 0).toBe(a === b);
      }),
    );
  });

  it('throws INVALID_SEMVER on anything but MAJOR.MINOR.PATCH', () => {
    for (const bad of ['1.2', '1.2.3-rc.1', '01.2.3', 'x']) {
      expect(() => compareSemver(bad, '1.0.0')).toThrow(
        expect.objectContaining({ code: PolicyErrorCode.INVALID_SEMVER }),
      );
      expect(() => compareSemver('1.0.0', bad)).toThrow(PolicyError);
    }
  });
});

describe('parseSemver and isMajorBump', () => {
  it('splits a version and rejects others', () => {
    expect(parseSemver('10.0.7')).toEqual({ major: '10', minor: '0', patch: '7' });
    expect(parseSemver('1.0')).toBeUndefined();
  });

  it('sees a major bump only when the major grows', () => {
    expect(isMajorBump('1.9.9', '2.0.0')).toBe(true);
    expect(isMajorBump('1.0.0', '1.99.0')).toBe(false);
    expect(isMajorBump('2.0.0', '1.0.0')).toBe(false);
  });
});
