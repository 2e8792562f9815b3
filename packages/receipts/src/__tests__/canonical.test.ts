import fc from 'fast-check';
import reference from 'canonicalize';
import { canonicalize, isCanonical } from '../canonical';

function onlySafeNumbers(v: unknown): boolean {
  if (typeof v === 'number') return !Number.isInteger(v) || Number.isSafeInteger(v);
  if (Array.isArray(v)) return v.every(onlySafeNumbers);
  if (v !== null && typeof v === 'object') return Object.values(v).every(onlySafeNumbers);
  return true;
}

describe('canonicalize (RFC 8785)', () => {
  it('sorts keys by UTF-16 code units and serialises numbers as ECMAScript does', () => {
    // From RFC 8785 section 3.2.3 (sorting) and 3.2.2.3 (numbers).
    expect(
      canonicalize({
        '\u20ac': 'Euro Sign',
        '\r': 'Carriage Return',
        '\ufb33': 'Hebrew',
        '1': 'One',
        '\ud83d\ude00': 'Emoji',
        '\u0080': 'Control',
        '\u00f6': 'Latin',
      }),
    ).toBe(
      '{"\\r":"Carriage Return","1":"One","\u0080":"Control","\u00f6":"Latin","\u20ac":"Euro Sign","\ud83d\ude00":"Emoji","\ufb33":"Hebrew"}',
    );
    expect(
      canonicalize([1e-7, -0, 0.000001, 333333333.3333333, 4.5, 2e-3, 9007199254740991, -1.5e-300]),
    ).toBe('[1e-7,0,0.000001,333333333.3333333,4.5,0.002,9007199254740991,-1.5e-300]');
    expect(canonicalize({ b: [true, false, null], a: { d: 'x\u000f"\\', c: 1 } })).toBe(
      '{"a":{"c":1,"d":"x\\u000f\\"\\\\"},"b":[true,false,null]}',
    );
  });

  it.each([
    ['NaN', { a: Number.NaN }],
    ['Infinity', { a: Number.POSITIVE_INFINITY }],
    ['an integer beyond 2^53', { a: 2 ** 53 }],
    // Every double of this magnitude is an integer that may already have lost precision.
    ['a number of integer magnitude beyond 2^53', { a: -1e21 }],
    ['a lone high surrogate', { a: 'x\ud800' }],
    ['a lone low surrogate in a key', { ['\udc00']: 1 }],
    ['undefined in an object', { a: undefined }],
    ['undefined in an array', [undefined]],
    ['a function', { a: () => 1 }],
    ['a Date', { a: new Date(0) }],
    ['a bigint', { a: 1n }],
  ])('refuses %s instead of silently changing it', (_name, value) => {
    expect(() => canonicalize(value)).toThrow(expect.objectContaining({ code: 'NOT_CANONICALIZABLE' }));
  });

  it('agrees with the reference implementation on arbitrary JSON', () => {
    fc.assert(
      fc.property(fc.jsonValue(), (value) => {
        fc.pre(onlySafeNumbers(value));
        expect(canonicalize(value)).toBe(reference(value));
      }),
      { numRuns: 500 },
    );
  });

  it('isCanonical accepts exactly the canonical bytes', () => {
    expect(isCanonical('{"a":1,"b":2}')).toEqual({ ok: true, value: { a: 1, b: 2 } });
    expect(isCanonical('{"b":2,"a":1}')).toMatchObject({ ok: false });
    expect(isCanonical('{"a": 1}')).toMatchObject({ ok: false });
    expect(isCanonical('{"a":1.0}')).toMatchObject({ ok: false });
    expect(isCanonical('{"a":"\\u0041"}')).toMatchObject({ ok: false });
    expect(isCanonical('not json')).toMatchObject({ ok: false, reason: expect.stringContaining('not JSON') });
  });
});
